import { createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import pg from 'pg'
import postgres from 'postgres'
import { adapterOptions, type BenchDatabase, plainConnection, prebuiltTls, signerFor } from './database'
import { cpuMs } from './measure'

/** Concurrent workers, each looping `select 1`, on a pool of as many connections. */
export const workers = 8

export const poolVariants = [
  'pg.Pool',
  '@rds-iam/pg createPool',
  'postgres()',
  '@rds-iam/postgres createSql',
] as const
export type PoolVariant = (typeof poolVariants)[number]

export interface OpenPool {
  query(): Promise<unknown>
  end(): Promise<void>
}

/** A pool of `workers` connections: the plain driver with a pre-made token, or an rds-iam adapter. */
export async function openPool(variant: PoolVariant, database: BenchDatabase): Promise<OpenPool> {
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

export interface QueryWindow {
  queries: number
  /** This process's CPU per query over the window. */
  cpuMicrosecondsPerQuery: number
}

/** Runs every worker's `select 1` loop for `ms` and counts the queries done. */
export async function runQueryWindow(pool: OpenPool, ms: number): Promise<QueryWindow> {
  const worker = async (until: number) => {
    let count = 0
    while (performance.now() < until) {
      await pool.query()
      count++
    }
    return count
  }
  let queries = 0
  const cpu = await cpuMs(async () => {
    const until = performance.now() + ms
    const counts = await Promise.all(Array.from({ length: workers }, () => worker(until)))
    queries = counts.reduce((sum, count) => sum + count, 0)
  })
  return { queries, cpuMicrosecondsPerQuery: (cpu * 1_000) / queries }
}
