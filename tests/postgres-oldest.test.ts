import { readFileSync } from 'node:fs'
import { expect, it, vi } from 'vitest'
import { describeConformance } from './src/conformance'
import { postgresTarget } from './src/postgres-target'

// The oldest postgres.js of the peer range: every import of 'postgres' in this file's module graph, the adapter's
// included, loads that real package, so a release that moves what the adapter relies on (the `socket` factory,
// `ssl` read at each handshake, a query's `state` and `handler`) fails here or in postgres.test.ts.
vi.mock('postgres', () => import('postgres-oldest'))

it('the adapter runs on the oldest postgres.js of its peer range here', async () => {
  const { default: loaded } = await import('postgres')
  const { default: oldest } = await import('postgres-oldest')
  expect(loaded).toBe(oldest)
  // Its exports map hides package.json from import.
  const manifest = new URL('./node_modules/postgres-oldest/package.json', import.meta.url)
  expect(JSON.parse(readFileSync(manifest, 'utf8')).version).toBe('3.3.0')
})

describeConformance(postgresTarget('postgres_3_3'))
