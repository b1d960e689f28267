import { expect, it, vi } from 'vitest'
import { describeConformance } from './src/conformance'
import { pgClientTarget, pgPoolTarget } from './src/pg-targets'

// The oldest pg of the peer range: every import of 'pg' in this file's module graph, the adapter's included, loads
// that real package, so a pg release that moves what the adapter relies on fails here or in pg.test.ts.
vi.mock('pg', () => import('pg-oldest'))

it('the adapter runs on the oldest pg of its peer range here', async () => {
  const { default: loaded } = await import('pg')
  const { default: oldest } = await import('pg-oldest')
  expect(loaded).toBe(oldest)
  expect((await import('pg-oldest/package.json')).version).toBe('8.8.0')
})

describeConformance(pgPoolTarget('pg_8_8'))
describeConformance(pgClientTarget('pg_client_8_8'))
