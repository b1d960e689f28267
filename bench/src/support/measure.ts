import { execFile } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import {
  type BenchDatabase,
  type BenchTarget,
  databaseEnv,
  inheritedDatabase,
  startBenchDatabase,
} from './database'

const run = promisify(execFile)

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * The median of round-by-round ratios of two variants measured in the same rounds. Each round runs its variants
 * back to back, so a load that comes and goes on a shared machine falls on both sides of each ratio; a ratio of
 * two medians taken across rounds would compare different loads.
 */
export function pairedRatio(numerators: readonly number[], denominators: readonly number[]): number {
  return median(numerators.map((value, round) => value / denominators[round]!))
}

/** The median of round-by-round differences, for the same reason as {@link pairedRatio}. */
export function pairedDifference(minuends: readonly number[], subtrahends: readonly number[]): number {
  return median(minuends.map((value, round) => value - subtrahends[round]!))
}

/** Milliseconds `work` takes. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await work()
  return performance.now() - started
}

/**
 * Milliseconds of CPU this process spends on `work` (all its threads, user and system). On a machine shared with
 * other work, time spent waiting for a core does not count, so a CPU-bound loop measures steadier than by clock.
 */
export async function cpuMs(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage()
  await work()
  const { user, system } = process.cpuUsage(before)
  return (user + system) / 1_000
}

export interface Cost {
  wallMs: number
  cpuMs: number
}

/** Both the clock time and this process's CPU time of `work`. */
export async function measureCost(work: () => Promise<unknown>): Promise<Cost> {
  let wallMs = 0
  const spent = await cpuMs(async () => {
    wallMs = await timeMs(work)
  })
  return { wallMs, cpuMs: spent }
}

/** The median of each of a variant's costs. */
export function medianCost(samples: readonly Cost[]): Cost {
  return {
    wallMs: median(samples.map((sample) => sample.wallMs)),
    cpuMs: median(samples.map((sample) => sample.cpuMs)),
  }
}

/**
 * Runs every variant once per round, in a new shuffled order each round, so that drift in the machine's load and
 * each variant's after-effects (garbage, warm caches) fall on all of them alike. A fixed order, even one rotated
 * each round, always runs a variant right after the same one, which then hands it its garbage every time. Returns
 * every sample per variant; the first `warmupRounds` are run and thrown away.
 */
export async function interleave<Name extends string, Sample = number>(
  variants: Record<Name, () => Promise<Sample>>,
  rounds: number,
  warmupRounds = 0,
): Promise<Record<Name, Sample[]>> {
  const names = Object.keys(variants) as Name[]
  const samples = Object.fromEntries(names.map((name) => [name, [] as Sample[]])) as Record<Name, Sample[]>
  for (let round = 0; round < warmupRounds + rounds; round++) {
    for (const name of shuffled(names)) {
      const sample = await variants[name]()
      if (round >= warmupRounds) samples[name].push(sample)
    }
  }
  return samples
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}

export function medians<Name extends string>(samples: Record<Name, number[]>): Record<Name, number> {
  const entries = Object.entries(samples) as [Name, number[]][]
  return Object.fromEntries(entries.map(([name, values]) => [name, median(values)])) as Record<Name, number>
}

/**
 * For measurements that a shared process would distort (module caches, process-wide hooks, heap size): run as the
 * benchmark, this starts the database and runs every variant `rounds` times, interleaved, each time as a fresh
 * process of the same file, and returns what each run measured. Run as one of those processes (BENCH_VARIANT set),
 * it measures its variant, prints the result as JSON and returns undefined.
 */
export async function compareInFreshProcesses<Name extends string, Result>(
  fileUrl: string,
  variants: readonly Name[],
  rounds: number,
  measure: (variant: Name, database: BenchDatabase) => Promise<Result>,
  target: BenchTarget = 'rds',
): Promise<Record<Name, Result[]> | undefined> {
  const variant = process.env.BENCH_VARIANT as Name | undefined
  if (variant) {
    process.stdout.write(`${JSON.stringify(await measure(variant, inheritedDatabase()))}\n`)
    return undefined
  }
  const database = await startBenchDatabase(target)
  const file = fileURLToPath(fileUrl)
  const inFreshProcess = (name: Name) => async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, ...databaseEnv(database), BENCH_VARIANT: name },
    })
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Result
  }
  try {
    const runs = Object.fromEntries(variants.map((name) => [name, inFreshProcess(name)]))
    return await interleave(runs as Record<Name, () => Promise<Result>>, rounds)
  } finally {
    await database.stop()
  }
}
