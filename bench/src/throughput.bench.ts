// B6: pooled `select 1` throughput with 8 workers on a pool of 8, through each adapter against its plain driver
// given a pre-made token. Connections are opened before the clock starts, so only the query path is compared.
// Each run is a fresh process (a process-wide hook switched on by one variant would slow the others).
import { createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import pg from 'pg'
import postgres from 'postgres'
import {
  adapterOptions,
  type BenchDatabase,
  plainConnection,
  prebuiltTls,
  signerFor,
} from './support/database'
import { compareInFreshProcesses, medians } from './support/measure'
import { printMedians, verdict } from './support/report'

const workers = 8
const durationMs = 2_500
const rounds = 5
const variants = ['pg.Pool', '@rds-iam/pg createPool', 'postgres()', '@rds-iam/postgres createSql'] as const
type Variant = (typeof variants)[number]

async function openQueryFunction(variant: Variant, database: BenchDatabase) {
  const password = await signerFor(database).getAuthToken()
  const plain = { ...plainConnection(database), ssl: prebuiltTls(database) }
  switch (variant) {
    case 'pg.Pool':
    case '@rds-iam/pg createPool': {
      const pool =
        variant === 'pg.Pool'
          ? new pg.Pool({ ...plain, password, max: workers })
          : createPool({ ...adapterOptions(database), max: workers })
      return { query: () => pool.query('select 1'), end: () => pool.end() }
    }
    case 'postgres()':
    case '@rds-iam/postgres createSql': {
      const sql =
        variant === 'postgres()'
          ? postgres({ ...plain, password, max: workers })
          : createSql({ ...adapterOptions(database), max: workers })
      return { query: () => sql`select 1`, end: () => sql.end() }
    }
  }
}

async function queriesPerSecond(variant: Variant, database: BenchDatabase): Promise<number> {
  const { query, end } = await openQueryFunction(variant, database)
  const worker = async (until: number) => {
    let count = 0
    while (performance.now() < until) {
      await query()
      count++
    }
    return count
  }
  const runWorkers = async (ms: number) => {
    const counts = await Promise.all(Array.from({ length: workers }, () => worker(performance.now() + ms)))
    return counts.reduce((sum, count) => sum + count, 0)
  }
  await runWorkers(500) // opens all connections and warms up the JIT
  const queries = await runWorkers(durationMs)
  await end()
  return queries / (durationMs / 1_000)
}

const samples = await compareInFreshProcesses(import.meta.url, variants, rounds, queriesPerSecond)
if (samples) {
  const qps = medians(samples)
  printMedians(
    `select 1, ${workers} workers, pool of ${workers}, ${durationMs} ms per process`,
    qps,
    'queries/s',
    rounds,
  )
  const target = { atLeast: 0.98 }
  verdict(
    'B6',
    'pg pooled throughput / plain pg.Pool',
    qps['@rds-iam/pg createPool'] / qps['pg.Pool'],
    target,
  )
  verdict(
    'B6',
    'postgres.js throughput / plain postgres()',
    qps['@rds-iam/postgres createSql'] / qps['postgres()'],
    target,
  )
}
