import { createKnex } from '@rds-iam/knex'
import type { Knex } from 'knex'
import type { ConformanceTarget, Row } from './conformance-target'

/** Knex's tarn pool, which `knex.client.pool` exposes for monitoring. */
interface TarnPool {
  numUsed(): number
  numFree(): number
}

async function rowsOf(query: Knex.Raw): Promise<Row[]> {
  return ((await query) as { rows: Row[] }).rows
}

/**
 * The conformance suite through a real Knex instance. A connection is held by a transaction, Knex's public way to
 * keep one connection until `commit()`.
 */
export function knexTarget(name: string): ConformanceTarget {
  return {
    name,
    pooled: true,
    createPool: ({ max, maxLifetimeSeconds, ...connection }) => {
      const lifetime =
        maxLifetimeSeconds === undefined ? {} : { maxConnectionLifetimeMillis: maxLifetimeSeconds * 1000 }
      // min 0: connections open only when the suite asks, so counts of accepted sign-ins are exact.
      const db = createKnex({ connection, pool: { min: 0, max, ...lifetime } })
      return {
        // Knex's own pool of pg connections (the client itself refers to itself, which JSON cannot show).
        driver: db.client.pool,
        query: (text) => rowsOf(db.raw(text)),
        hold: async () => {
          const transaction = await db.transaction()
          return {
            query: (text) => rowsOf(transaction.raw(text)),
            release: async () => {
              await transaction.commit()
            },
          }
        },
        end: () => db.destroy(),
        lifetimeSeconds: async () => {
          const millis = (db.client.config as Knex.Config).pool?.maxConnectionLifetimeMillis
          return millis === undefined ? undefined : millis / 1000
        },
        connectionCount: () => {
          const pool = db.client.pool as TarnPool
          return pool.numUsed() + pool.numFree()
        },
      }
    },
  }
}
