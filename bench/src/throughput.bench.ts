// B6: pooled `select 1` throughput with 8 workers on a pool of 8, through each adapter against its plain driver
// given a pre-made token. Connections are opened before the clock starts, so only the query path is compared.
// Each run is a fresh process (a process-wide hook switched on by one variant would slow the others).
import type { BenchDatabase } from './support/database'
import { compareInFreshProcesses, median, pairedRatio } from './support/measure'
import { openPool, type PoolVariant, poolVariants, runQueryWindow, workers } from './support/query-load'
import { format, verdict } from './support/report'

const durationMs = 1_500
const rounds = 9
const variants = poolVariants
type Variant = PoolVariant

interface Throughput {
  queriesPerSecond: number
  /** The client process's own CPU per query: steadier than throughput on a machine shared with other work. */
  cpuMicrosecondsPerQuery: number
}

async function measureThroughput(variant: Variant, database: BenchDatabase): Promise<Throughput> {
  const pool = await openPool(variant, database)
  await runQueryWindow(pool, 500) // opens all connections and warms up the JIT
  const { queries, cpuMicrosecondsPerQuery } = await runQueryWindow(pool, durationMs)
  await pool.end()
  return { queriesPerSecond: queries / (durationMs / 1_000), cpuMicrosecondsPerQuery }
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
