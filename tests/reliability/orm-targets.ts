import 'reflect-metadata'
import type { PrismaPg } from '@prisma/adapter-pg'
import { createKnex, type IamKnexConfig } from '@rds-iam/knex'
import type { IamPoolConfig } from '@rds-iam/pg'
import { createPrismaAdapter, rdsIamErrorOf } from '@rds-iam/prisma'
import { createDataSource, type IamDataSourceOptions } from '@rds-iam/typeorm'
import type { Knex } from 'knex'
import type { DataSource } from 'typeorm'
import { initializeOnDemand } from '../src/orm-typeorm-target'
import {
  type CycleResult,
  type HeldConnection,
  ignore,
  type ReliabilityTarget,
  type Session,
  SMOKE_QUERY,
  type Tuning,
  tuned,
} from './targets'

// The ORMs run connect and query as one call, so a failure's phase is unknown; what pg (under all three) says
// when the connection of a query it had written goes away, however the ORM wraps it.
const PG_LOST_CONNECTION =
  /Connection terminated unexpectedly|ECONNRESET|EPIPE|Client has encountered a connection error/i

function isPgLostConnection(error: unknown): boolean {
  for (
    let current = error;
    current;
    current =
      (current as { cause?: unknown; driverError?: unknown }).driverError ??
      (current as { cause?: unknown }).cause
  ) {
    const { message, code } = current as { message?: unknown; code?: unknown }
    if (PG_LOST_CONNECTION.test(`${String(message)} ${String(code)}`)) return true
  }
  return false
}

async function attempt(run: () => Promise<unknown>): Promise<CycleResult> {
  try {
    await run()
    return { ok: true }
  } catch (error) {
    return { ok: false, phase: 'unknown', error }
  }
}

/** Knex's names for the suite's tuning: its pool's, and pg's connect timeout for each connection. */
export function knexTuning({ max, idleTimeoutMs, connectTimeoutMs }: Tuning) {
  return {
    connection: { connectionTimeoutMillis: connectTimeoutMs },
    pool: { min: 0, max, idleTimeoutMillis: idleTimeoutMs },
    acquireConnectionTimeout: connectTimeoutMs,
    // Knex warns on the console about every connection a drop disposed of.
    log: { warn: ignore, error: ignore, deprecate: ignore, debug: ignore },
  }
}

/** A session on a Knex instance; a transaction holds a connection. */
export function knexSession(db: Knex): Session {
  return {
    cycle: () => attempt(() => db.raw(SMOKE_QUERY)),
    async hold(): Promise<HeldConnection> {
      const transaction = await db.transaction()
      return { reachable: [transaction], release: async () => void (await transaction.commit()) }
    },
    reachable: () => [db.client.pool],
    end: () => db.destroy(),
  }
}

/** TypeORM's names for the suite's tuning. */
export function typeormTuning({ max, idleTimeoutMs, connectTimeoutMs }: Tuning) {
  return { poolSize: max, connectTimeoutMS: connectTimeoutMs, extra: { idleTimeoutMillis: idleTimeoutMs } }
}

/**
 * A session on a TypeORM DataSource. `initialize()` opens the pool and checks one connection out; one that failed
 * leaves the DataSource uninitialized, so the next cycle initializes again.
 */
export function dataSourceSession(dataSource: DataSource): Session {
  const ready = initializeOnDemand(dataSource)
  return {
    cycle: () => attempt(async () => (await ready()).query(SMOKE_QUERY)),
    async hold(): Promise<HeldConnection> {
      const runner = (await ready()).createQueryRunner()
      await runner.connect()
      return { reachable: [runner], release: () => runner.release() }
    },
    reachable: () => [dataSource.options],
    end: async () => {
      if (dataSource.isInitialized) await dataSource.destroy()
    },
  }
}

/** pg's pool names for the suite's tuning, which Prisma's pg adapter passes on. */
export function prismaTuning({ max, idleTimeoutMs, connectTimeoutMs }: Tuning) {
  return { max, idleTimeoutMillis: idleTimeoutMs, connectionTimeoutMillis: connectTimeoutMs }
}

/**
 * A session on Prisma's pg driver adapter, driven the way a PrismaClient drives it (`connect`, `queryRaw`): the
 * rds-iam part of Prisma is this adapter, and a generated client would add its code generation to every run.
 */
export function prismaSession(factory: PrismaPg): Session {
  const connected = factory.connect()
  connected.catch(ignore)
  const query = { sql: SMOKE_QUERY, args: [], argTypes: [] }
  return {
    cycle: () => attempt(async () => (await connected).queryRaw(query)),
    async hold(): Promise<HeldConnection> {
      const transaction = await (await connected).startTransaction()
      return { reachable: [transaction], release: () => transaction.commit() }
    },
    reachable: () => [factory],
    end: async () => (await connected).dispose(),
  }
}

export const knexTarget: ReliabilityTarget = {
  name: 'Knex',
  open(config, tuning) {
    const { connection, ...knexOptions } = knexTuning(tuning)
    return knexSession(createKnex({ ...knexOptions, connection: tuned(config, connection) } as IamKnexConfig))
  },
  isDriverErrorAfterSend: isPgLostConnection,
}

export const typeormTarget: ReliabilityTarget = {
  name: 'TypeORM',
  open(config, tuning) {
    const { user, ...options } = config as { user?: string }
    return dataSourceSession(
      createDataSource({
        type: 'postgres',
        ...typeormTuning(tuning),
        ...options,
        username: user,
      } as IamDataSourceOptions),
    )
  },
  isDriverErrorAfterSend: isPgLostConnection,
}

export const prismaTarget: ReliabilityTarget = {
  name: 'Prisma',
  open: (config, tuning) =>
    prismaSession(createPrismaAdapter(tuned(config, prismaTuning(tuning)) as IamPoolConfig)),
  // Prisma's adapter rethrows a connect failure as its own error carrying the RdsIamError's code and message.
  isDriverErrorAfterSend: (error) => rdsIamErrorOf(error) === undefined && isPgLostConnection(error),
}

export const ormTargets: readonly ReliabilityTarget[] = [knexTarget, typeormTarget, prismaTarget]
