import { createKnex } from '@rds-iam/knex'
import knexOldest from 'knex-oldest'
import { expect, it, vi } from 'vitest'
import { describeConformance } from './src/conformance'
import { knexTarget } from './src/orm-knex-target'

// The oldest knex of the peer range (2.0.0): every import of 'knex' in this file's module graph, the adapter's
// included, loads that real package instead of the newest, so the same suite runs on both ends of the range.
vi.mock('knex', () => import('knex-oldest'))

it('the adapter runs on knex 2.0.0 here', async () => {
  const db = createKnex({ connection: { host: 'localhost', user: 'nobody', ssl: 'require' } })
  try {
    expect(db.client).toBeInstanceOf(knexOldest({ client: 'pg' }).client.constructor)
    expect((await import('knex-oldest/package.json')).version).toBe('2.0.0')
  } finally {
    await db.destroy()
  }
})

describeConformance(knexTarget('knex_2'))
