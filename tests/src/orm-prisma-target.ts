import type { PrismaPg } from '@prisma/adapter-pg'
import { createPrismaAdapter, rdsIamErrorOf } from '@rds-iam/prisma'
import type { ConformanceTarget, HeldConnection, Row } from './conformance-target'
import type { TestPrismaClientClass } from './orm-prisma-client'

// Interactive transactions hold a connection; the suite holds them for as long as a throttled endpoint takes.
const HOLD = { maxWait: 30_000, timeout: 60_000 }

// Prisma rethrows a failed connect as its own error with the RdsIamError's code and message; a Prisma user gets
// the RdsIamError back with rdsIamErrorOf, and so does the suite, which then checks its code and hint.
function asRdsIamError(error: unknown): never {
  throw rdsIamErrorOf(error) ?? error
}

/**
 * The conformance suite through a generated PrismaClient on the rds-iam driver adapter. A connection is held by an
 * interactive transaction that waits for its release. Prisma does not show its pool, so there is no
 * `connectionCount`.
 */
export function prismaClientTarget(
  name: string,
  PrismaClient: () => TestPrismaClientClass,
): ConformanceTarget {
  return {
    name,
    pooled: true,
    createPool: (config) => {
      const adapter = createPrismaAdapter(config)
      const Client = PrismaClient()
      const prisma = new Client({ adapter })
      return {
        driver: adapter,
        query: (text) => prisma.$queryRawUnsafe<Row[]>(text).catch(asRdsIamError),
        hold: () =>
          new Promise<HeldConnection>((resolveHeld, rejectHeld) => {
            let release = (): void => {}
            const released = new Promise<void>((resolve) => {
              release = resolve
            })
            const transaction = prisma.$transaction(async (tx) => {
              resolveHeld({
                query: (text) => tx.$queryRawUnsafe<Row[]>(text),
                release: async () => {
                  release()
                  await transaction
                },
              })
              await released
            }, HOLD)
            transaction.catch((error: unknown) => rejectHeld(rdsIamErrorOf(error) ?? error))
          }),
        end: () => prisma.$disconnect(),
        // The pool config the adapter keeps and builds its pool from.
        lifetimeSeconds: async () =>
          (adapter as unknown as { config: { maxLifetimeSeconds?: number } }).config.maxLifetimeSeconds,
      }
    },
  }
}

type DriverAdapter = Awaited<ReturnType<PrismaPg['connect']>>
type Queryable = Pick<DriverAdapter, 'queryRaw'>

// Prisma 6 refuses to read columns of type `name` (UnsupportedNativeDataType); the two the suite selects are read
// as text, which gives the same values.
const NAME_COLUMNS = /\b(current_user|current_database\(\))/g

async function rowsOf(queryable: Queryable, text: string): Promise<Row[]> {
  const sql = text.replace(NAME_COLUMNS, '$1::text')
  const { columnNames, rows } = await queryable.queryRaw({ sql, args: [], argTypes: [] })
  return rows.map((values) => Object.fromEntries(columnNames.map((column, i) => [column, values[i]])))
}

/**
 * The conformance suite through the driver adapter itself: the object a PrismaClient drives (`connect`,
 * `queryRaw`, `startTransaction`), for releases whose client cannot run the suite's queries: Prisma 6.7's client
 * (engineType "client", the only one that runs here) fails raw queries inside interactive transactions. Its model
 * queries work (tests/prisma-features.test.ts).
 */
export function prismaAdapterTarget(name: string): ConformanceTarget {
  return {
    name,
    pooled: true,
    createPool: (config) => {
      const factory = createPrismaAdapter(config)
      const connected = factory.connect()
      // A suite case may never query; the promise is still settled when the pool ends.
      connected.catch(() => {})
      return {
        driver: factory,
        query: async (text) => rowsOf(await connected, text),
        hold: async () => {
          const transaction = await (await connected).startTransaction()
          return {
            query: (text) => rowsOf(transaction, text),
            // The client sends COMMIT itself before `commit()`, which only gives the connection back.
            release: async () => {
              await transaction.executeRaw({ sql: 'COMMIT', args: [], argTypes: [] })
              await transaction.commit()
            },
          }
        },
        end: async () => (await connected).dispose(),
        lifetimeSeconds: async () =>
          (factory as unknown as { config: { maxLifetimeSeconds?: number } }).config.maxLifetimeSeconds,
      }
    },
  }
}
