import { createClientClass, createPool } from '@rds-iam/pg'
import type pg from 'pg'
import type { ConformanceTarget } from './conformance-target'

/** `createPool`: the path most applications take. */
export function pgPoolTarget(name: string): ConformanceTarget {
  return {
    name,
    pooled: true,
    createPool: ({ max, ...config }) => {
      const pool = createPool({ ...config, max })
      return {
        driver: pool,
        query: async (text) => (await pool.query(text)).rows,
        hold: async () => {
          const client = await pool.connect()
          // A checked-out pg client has no error listener; a server that drops it must fail its next query, not
          // crash the test process.
          client.on('error', () => {})
          return {
            query: async (text) => (await client.query(text)).rows,
            release: async () => client.release(),
          }
        },
        end: () => pool.end(),
        connectionCount: () => pool.totalCount,
        lifetimeSeconds: async () => pool.options.maxLifetimeSeconds,
      }
    },
  }
}

/**
 * Standalone Clients, each connected on its own: the path pg-pool never takes, where a retried connect cannot lean
 * on the pool making a new Client. At most `max` are open at once, as a pool would allow.
 */
export function pgClientTarget(name: string): ConformanceTarget {
  return {
    name,
    pooled: false,
    createPool: ({ max, maxLifetimeSeconds: _noPool, ...config }) => {
      // Made once, as an application makes its config once: bad options fail here, before any connect.
      const IamClient = createClientClass(config)
      const open = new Set<pg.Client>()
      const waiting: Array<() => void> = []
      let slots = max

      function release(): void {
        const next = waiting.shift()
        if (next) next()
        else slots++
      }

      async function connected(): Promise<pg.Client> {
        if (slots === 0) await new Promise<void>((resolve) => waiting.push(resolve))
        else slots--
        const client = new IamClient()
        // A server that drops an idle client must fail its next query, not crash the test process.
        client.on('error', () => {})
        try {
          await client.connect()
        } catch (error) {
          release()
          throw error
        }
        open.add(client)
        return client
      }

      async function close(client: pg.Client): Promise<void> {
        if (!open.delete(client)) return
        await client.end().catch(() => {})
        release()
      }

      return {
        driver: open,
        query: async (text) => {
          const client = await connected()
          try {
            return (await client.query(text)).rows
          } finally {
            await close(client)
          }
        },
        hold: async () => {
          const client = await connected()
          return { query: async (text) => (await client.query(text)).rows, release: () => close(client) }
        },
        end: async () => {
          await Promise.all([...open].map(close))
        },
      }
    },
  }
}
