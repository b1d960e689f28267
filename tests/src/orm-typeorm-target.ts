import 'reflect-metadata'
import { createDataSource } from '@rds-iam/typeorm'
import type { DataSource } from 'typeorm'
import type { ConformanceTarget, Row } from './conformance-target'

/** What TypeORM's PostgreSQL driver keeps of its writer pool. */
interface PostgresDriverPools {
  master?: { totalCount: number; options: { maxLifetimeSeconds?: number } }
}

/**
 * Initializes `dataSource` at its first use; one whose initialize failed stays uninitialized, so the next use
 * initializes again.
 */
export function initializeOnDemand(dataSource: DataSource): () => Promise<DataSource> {
  let initializing: Promise<DataSource> | undefined
  return () => {
    initializing ??= dataSource.initialize().catch((error: unknown) => {
      initializing = undefined
      throw error
    })
    return initializing
  }
}

/**
 * The conformance suite through a real TypeORM DataSource. `initialize()` opens the writer pool and checks one
 * connection out; a DataSource whose initialize failed stays uninitialized, so the next use initializes again.
 */
export function typeormTarget(name: string): ConformanceTarget {
  return {
    name,
    pooled: true,
    createPool: ({ max, user, maxLifetimeSeconds, ...config }) => {
      // TypeORM hands `extra` to the pg Pool it makes.
      const extra = maxLifetimeSeconds === undefined ? undefined : { maxLifetimeSeconds }
      const dataSource = createDataSource({
        type: 'postgres',
        ...config,
        username: user,
        poolSize: max,
        extra,
      })
      const ready = initializeOnDemand(dataSource)
      return {
        // The options TypeORM keeps (its DataSource refers to itself, which JSON cannot show).
        driver: dataSource.options,
        query: async (text) => (await ready()).query<Row[]>(text),
        hold: async () => {
          const runner = (await ready()).createQueryRunner()
          await runner.connect()
          return {
            query: (text) => runner.query(text) as Promise<Row[]>,
            release: () => runner.release(),
          }
        },
        end: async () => {
          if (dataSource.isInitialized) await dataSource.destroy()
        },
        connectionCount: () => (dataSource.driver as unknown as PostgresDriverPools).master?.totalCount ?? 0,
        lifetimeSeconds: async () => {
          await ready()
          return (dataSource.driver as unknown as PostgresDriverPools).master?.options.maxLifetimeSeconds
        },
      }
    },
  }
}
