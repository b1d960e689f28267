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
import { compareInFreshProcesses, cpuMs, median, pairedRatio } from './support/measure'
import { format, verdict } from './support/report'

const workers = 8
const durationMs = 1_500
const rounds = 9
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

interface Throughput {
  queriesPerSecond: number
  /** The client process's own CPU per query: steadier than throughput on a machine shared with other work. */
  cpuMicrosecondsPerQuery: number
}

async function measureThroughput(variant: Variant, database: BenchDatabase): Promise<Throughput> {
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
  let queries = 0
  const cpu = await cpuMs(async () => {
    queries = await runWorkers(durationMs)
  })
  await end()
  return {
    queriesPerSecond: queries / (durationMs / 1_000),
    cpuMicrosecondsPerQuery: (cpu * 1_000) / queries,
  }
}

const samples = await compareInFreshProcesses(import.meta.url, variants, rounds, measureThroughput)
if (samples) {
  const qps = (name: Variant) => median(samples[name].map((sample) => sample.queriesPerSecond))
  const cpu = (name: Variant) => median(samples[name].map((sample) => sample.cpuMicrosecondsPerQuery))
  console.log(
    `select 1, ${workers} workers, pool of ${workers}, ${durationMs} ms per process (median of ${rounds})`,
  )
  for (const name of variants) {
    console.log(
      `  ${name.padEnd(28)} ${format(qps(name)).padStart(6)} queries/s  ${format(cpu(name))} µs CPU/query`,
    )
  }
  const pairs = [
    ['pg', '@rds-iam/pg createPool', 'pg.Pool'],
    ['postgres.js', '@rds-iam/postgres createSql', 'postgres()'],
  ] as const
  const perRound = (name: Variant, measure: keyof Throughput) =>
    samples[name].map((sample) => sample[measure])
  for (const [driver, adapter, plain] of pairs) {
    const throughput = pairedRatio(perRound(adapter, 'queriesPerSecond'), perRound(plain, 'queriesPerSecond'))
    verdict('B6', `${driver} pooled throughput / plain driver`, throughput, { atLeast: 0.98 })
    // The same target on queries per second of client CPU: what the query path costs the application itself.
    const perCpu = pairedRatio(
      perRound(plain, 'cpuMicrosecondsPerQuery'),
      perRound(adapter, 'cpuMicrosecondsPerQuery'),
    )
    verdict('B6', `${driver} queries per client CPU second / plain driver`, perCpu, { atLeast: 0.98 })
  }
}
