// B6, second view: the same pooled `select 1` load, with the plain driver's pool and the adapter's pool open in
// one process and run in alternating short windows; the ratio is the median of the per-pair ratios. Adjacent
// windows see nearly the same machine load, so this holds steadier than whole processes on a shared machine. It
// is fair only for a library that switches on no process-wide hook, which would slow the plain pool too: B7
// checks that. One fresh process per driver.
import type { BenchDatabase } from './support/database'
import { compareInFreshProcesses, median } from './support/measure'
import { openPool, type PoolVariant, runQueryWindow } from './support/query-load'
import { verdict } from './support/report'

const windowMs = 300
const pairs = 80
const drivers = {
  pg: ['pg.Pool', '@rds-iam/pg createPool'],
  'postgres.js': ['postgres()', '@rds-iam/postgres createSql'],
} as const satisfies Record<string, readonly [PoolVariant, PoolVariant]>
type Driver = keyof typeof drivers

interface PairedRatios {
  throughput: number
  queriesPerCpuSecond: number
}

async function alternateWindows(driver: Driver, database: BenchDatabase): Promise<PairedRatios> {
  const [plainVariant, adapterVariant] = drivers[driver]
  const plain = await openPool(plainVariant, database)
  const adapter = await openPool(adapterVariant, database)
  await runQueryWindow(plain, 1_000) // opens the connections and warms up the JIT
  await runQueryWindow(adapter, 1_000)
  const throughput: number[] = []
  const queriesPerCpuSecond: number[] = []
  for (let pair = 0; pair < pairs; pair++) {
    const plainFirst = pair % 2 === 0
    const first = await runQueryWindow(plainFirst ? plain : adapter, windowMs)
    const second = await runQueryWindow(plainFirst ? adapter : plain, windowMs)
    const [plainWindow, adapterWindow] = plainFirst ? [first, second] : [second, first]
    throughput.push(adapterWindow.queries / plainWindow.queries)
    queriesPerCpuSecond.push(plainWindow.cpuMicrosecondsPerQuery / adapterWindow.cpuMicrosecondsPerQuery)
  }
  await Promise.all([plain.end(), adapter.end()])
  return { throughput: median(throughput), queriesPerCpuSecond: median(queriesPerCpuSecond) }
}

const results = await compareInFreshProcesses(
  import.meta.url,
  Object.keys(drivers) as Driver[],
  1,
  alternateWindows,
)
if (results) {
  console.log(`pooled select 1, alternating ${windowMs} ms windows in one process, median of ${pairs} pairs`)
  for (const driver of Object.keys(drivers) as Driver[]) {
    const [result] = results[driver]
    if (!result) continue
    verdict('B6', `${driver} pooled throughput / plain driver, paired windows`, result.throughput, {
      atLeast: 0.98,
    })
    verdict(
      'B6',
      `${driver} queries per client CPU second / plain driver, paired windows`,
      result.queriesPerCpuSecond,
      { atLeast: 0.98 },
    )
  }
}
