// B7: the application's own async work (a loop of 200k awaits) timed before and after the first connect, in the
// same process. A library that switches on a process-wide async hook (AsyncLocalStorage on Node 20 turns on
// promise hooks) slows every await of the application from then on. The plain driver is the control: its ratio
// is what connecting alone does to the loop (heap, JIT), so each adapter is compared against it.
import { createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import pg from 'pg'
import {
  adapterOptions,
  type BenchDatabase,
  plainConnection,
  prebuiltTls,
  signerFor,
} from './support/database'
import { compareInFreshProcesses, cpuMs, median, medians, pairedRatio } from './support/measure'
import { printMedians, verdict } from './support/report'

const awaits = 200_000
const samplesPerSide = 15
const rounds = 7
const variants = ['plain pg.Pool', '@rds-iam/pg createPool', '@rds-iam/postgres createSql'] as const
type Variant = (typeof variants)[number]

async function step(): Promise<number> {
  return 1
}

async function awaitLoop(): Promise<void> {
  let total = 0
  for (let i = 0; i < awaits; i++) total += await step()
  if (total !== awaits) throw new Error('the loop was cut short')
}

// CPU time, not clock: the loop is CPU-bound, and on a shared machine waiting for a core would swamp the effect.
async function loopMs(): Promise<number> {
  const times = []
  for (let i = 0; i < samplesPerSide; i++) times.push(await cpuMs(awaitLoop))
  return median(times)
}

// Connects once and leaves the connection open, as an application does.
async function firstConnect(variant: Variant, database: BenchDatabase): Promise<() => Promise<unknown>> {
  if (variant === '@rds-iam/postgres createSql') {
    const sql = createSql({ ...adapterOptions(database), max: 1 })
    await sql`select 1`
    return () => sql.end()
  }
  const pool =
    variant === '@rds-iam/pg createPool'
      ? createPool({ ...adapterOptions(database), max: 1 })
      : new pg.Pool({
          ...plainConnection(database),
          ssl: prebuiltTls(database),
          max: 1,
          password: await signerFor(database).getAuthToken(),
        })
  await pool.query('select 1')
  return () => pool.end()
}

async function afterOverBefore(variant: Variant, database: BenchDatabase): Promise<number> {
  for (let i = 0; i < 5; i++) await awaitLoop() // JIT warm-up, so "before" is not the cold loop
  const before = await loopMs()
  const end = await firstConnect(variant, database)
  const after = await loopMs()
  await end()
  return after / before
}

const samples = await compareInFreshProcesses(import.meta.url, variants, rounds, afterOverBefore)
if (samples) {
  const ratios = medians(samples)
  printMedians(`${awaits} awaits, after the first connect / before, per process`, ratios, '', rounds)
  const target = { atMost: 1.02 }
  const overControl = (name: Variant) => pairedRatio(samples[name], samples['plain pg.Pool'])
  verdict(
    'B7',
    'pg awaits after/before, over the plain driver',
    overControl('@rds-iam/pg createPool'),
    target,
  )
  verdict(
    'B7',
    'postgres.js awaits after/before, over the plain driver',
    overControl('@rds-iam/postgres createSql'),
    target,
  )
}
