import { createSql } from '@rds-iam/postgres'
import type { ConformanceTarget, HeldConnection } from './conformance-target'

/** `createSql`: postgres.js's `sql`, which is its own pool. */
export function postgresTarget(name: string): ConformanceTarget {
  return {
    name,
    pooled: true,
    createPool: ({ maxLifetimeSeconds, ...config }) => {
      const sql = createSql({ ...config, max_lifetime: maxLifetimeSeconds, onnotice: () => {} })
      return {
        driver: sql,
        query: (text) => sql.unsafe(text),
        // A connection is held by a transaction that waits for its release: `sql.begin` goes through the adapter's
        // retry, where `sql.reserve` does not (see the adapter).
        hold: () =>
          new Promise<HeldConnection>((resolveHeld, rejectHeld) => {
            let release = (): void => {}
            const released = new Promise<void>((resolve) => {
              release = resolve
            })
            const transaction = sql.begin(async (tx) => {
              resolveHeld({
                query: (text) => tx.unsafe(text),
                release: async () => {
                  release()
                  await transaction
                },
              })
              await released
            })
            transaction.catch(rejectHeld)
          }),
        end: () => sql.end({ timeout: 5 }),
        lifetimeSeconds: async () => {
          // Without a number postgres.js draws one per connection (30 to 60 minutes).
          const lifetime: unknown = sql.options.max_lifetime
          return typeof lifetime === 'number' ? lifetime : undefined
        },
      }
    },
  }
}
