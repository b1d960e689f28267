import { createClient, createPool, type IamClientConfig, type IamPoolConfig } from '@rds-iam/pg'
import { createSql, type IamSqlOptions } from '@rds-iam/postgres'
import type pg from 'pg'
import type postgres from 'postgres'

/**
 * A config as a user writes it, in the suite's driver-neutral form: `host`, `port`, `user`, `database`, `ssl`,
 * `iam` and `connectionString`. R4 passes wrong ones on purpose, so nothing here is trusted to be well typed.
 */
export type UserConfig = unknown

/** Driver tuning the scenarios need, mapped onto each driver's own option names. */
export interface Tuning {
  max: number
  idleTimeoutMs: number
  connectTimeoutMs: number
  /** Connections close after this long even when kept busy, so new ones keep opening whatever the timing. */
  lifetimeMs?: number
}

/**
 * How far an operation got when it failed. `sent` means its query had reached a connection, where the driver's own
 * error is the right answer; `unknown` is postgres.js, which runs connect and query as one call.
 */
export type Phase = 'connect' | 'sent' | 'unknown'

export type CycleResult = { ok: true } | { ok: false; phase: Phase; error: unknown }

/** A connection kept open, for R6 to inspect along with its socket. */
export interface HeldConnection {
  /** Objects a user can reach through it: the client, its socket. */
  reachable: unknown[]
  release(): Promise<void>
}

/** What one adapter made from one config: a pool, a client factory or a postgres.js `sql`. */
export interface Session {
  /** Opens or checks out a connection, runs `select 1` and gives the connection back. Never rejects. */
  cycle(): Promise<CycleResult>
  hold(): Promise<HeldConnection>
  /** The driver objects a user holds: what must never show a secret when inspected. */
  reachable(): unknown[]
  end(): Promise<void>
}

/** One adapter as every reliability scenario drives it. */
export interface ReliabilityTarget {
  name: string
  /** Makes the adapter's object the way a user would; throws wherever the adapter throws. */
  open(config: UserConfig, tuning: Tuning): Session
  /** Whether a failure that is not an RdsIamError is the driver's own answer for a query it had already sent. */
  isDriverErrorAfterSend(error: unknown, phase: Phase): boolean
}

export const SMOKE_QUERY = 'select 1 as one'
export const ignore = (): void => {}

// Tuning is added to a config object; anything else (null, a number) goes to the adapter as the user wrote it.
export function tuned<T extends object>(config: UserConfig, driverTuning: T): unknown {
  const isObject = typeof config === 'object' && config !== null && !Array.isArray(config)
  return isObject ? { ...driverTuning, ...config } : config
}

export function pgTuning({ max, idleTimeoutMs, connectTimeoutMs, lifetimeMs }: Tuning) {
  return {
    max,
    idleTimeoutMillis: idleTimeoutMs,
    connectionTimeoutMillis: connectTimeoutMs,
    ...(lifetimeMs === undefined ? {} : { maxLifetimeSeconds: lifetimeMs / 1000 }),
  }
}

/** What both pg targets do with a connection: query it and give it back, or hold it with its socket. */
function pgCycles<C extends pg.Client | pg.PoolClient>(
  connect: () => Promise<C>,
  giveBack: (client: C, failed: boolean) => Promise<void>,
): Pick<Session, 'cycle' | 'hold'> {
  return {
    async cycle() {
      let client: C
      try {
        client = await connect()
      } catch (error) {
        return { ok: false, phase: 'connect', error }
      }
      let result: CycleResult = { ok: true }
      try {
        await client.query(SMOKE_QUERY)
      } catch (error) {
        result = { ok: false, phase: 'sent', error }
      }
      await giveBack(client, !result.ok)
      return result
    },
    async hold() {
      const client = await connect()
      return { reachable: [client, client.connection?.stream], release: () => giveBack(client, false) }
    },
  }
}

/** A session on a pg Pool: what a real app does with one, listening for the errors of idle and checked-out clients. */
export function poolSession(pool: pg.Pool): Session {
  // An idle connection the server drops is pg-pool's to discard; a real app listens the same way.
  pool.on('error', ignore)
  // A checked-out client has no listener of pg-pool's: a drop must fail its query, not the process.
  pool.on('connect', (client) => client.on('error', ignore))
  return {
    // A client whose query failed is thrown away rather than handed to the next worker.
    ...pgCycles(
      () => pool.connect(),
      async (client, failed) => client.release(failed || undefined),
    ),
    reachable: () => [pool],
    end: () => pool.end(),
  }
}

export const pgPoolTarget: ReliabilityTarget = {
  name: 'pg Pool',
  open: (config, tuning) => poolSession(createPool(tuned(config, pgTuning(tuning)) as IamPoolConfig)),
  isDriverErrorAfterSend: (_error, phase) => phase === 'sent',
}

/**
 * A session of one pg.Client per cycle. A pg.Client connects once, so each cycle makes a new one; the first is made
 * here, where a user makes it, so that a bad config is refused at creation when the adapter refuses it there.
 */
export function clientSession(createClient: () => pg.Client): Session {
  let unused: pg.Client | undefined = createClient()
  const firstClient = unused
  const live = new Set<pg.Client>()
  const connect = async (): Promise<pg.Client> => {
    const client = unused ?? createClient()
    unused = undefined
    client.on('error', ignore)
    live.add(client)
    try {
      await client.connect()
    } catch (error) {
      live.delete(client)
      throw error
    }
    return client
  }
  const close = async (client: pg.Client): Promise<void> => {
    live.delete(client)
    await client.end().catch(ignore)
  }
  return {
    ...pgCycles(connect, close),
    reachable: () => [firstClient, ...live],
    end: async () => {
      await Promise.all([...live].map(close))
    },
  }
}

export const pgClientTarget: ReliabilityTarget = {
  name: 'pg Client',
  open(config, tuning) {
    const { connectionTimeoutMillis } = pgTuning(tuning)
    const clientConfig = tuned(config, { connectionTimeoutMillis }) as IamClientConfig
    return clientSession(() => createClient(clientConfig))
  },
  isDriverErrorAfterSend: (_error, phase) => phase === 'sent',
}

// What postgres.js reports when the connection of a query it had written goes away: its own codes, or the socket's
// error itself, which it hands to the queries in flight when the reset arrives before the close.
const POSTGRES_LOST_CONNECTION = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'ECONNRESET',
  'EPIPE',
])

/** postgres.js's names for the suite's tuning. */
export function postgresTuning({ max, idleTimeoutMs, connectTimeoutMs, lifetimeMs }: Tuning) {
  return {
    max,
    idle_timeout: idleTimeoutMs / 1000,
    connect_timeout: connectTimeoutMs / 1000,
    ...(lifetimeMs === undefined ? {} : { max_lifetime: lifetimeMs / 1000 }),
    onnotice: ignore,
  }
}

/** A session on a postgres.js `sql`, whose connect and query are one call. */
export function sqlSession(sql: postgres.Sql): Session {
  return {
    async cycle() {
      try {
        await sql.unsafe(SMOKE_QUERY)
        return { ok: true }
      } catch (error) {
        return { ok: false, phase: 'unknown', error }
      }
    },
    // A transaction holds its connection until released; `sql.begin` goes through the adapter's retry.
    hold: () =>
      new Promise<HeldConnection>((resolveHeld, rejectHeld) => {
        let release = ignore
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        const transaction = sql.begin(async (tx) => {
          resolveHeld({
            reachable: [tx],
            release: async () => {
              release()
              await transaction
            },
          })
          await released
        })
        transaction.catch(rejectHeld)
      }),
    reachable: () => [sql],
    end: () => sql.end({ timeout: 1 }),
  }
}

/** Whether a postgres.js error says the connection of a query it had written went away. */
export const isPostgresLostConnection = (error: unknown): boolean =>
  POSTGRES_LOST_CONNECTION.has((error as { code?: unknown })?.code as string)

export const postgresTarget: ReliabilityTarget = {
  name: 'postgres',
  open(config, tuning) {
    const options = tuned(config, postgresTuning(tuning))
    const { connectionString, ...rest } = (options ?? {}) as { connectionString?: unknown }
    // A URL goes where postgres.js users put it: first, with the options after it.
    return sqlSession(
      options !== null && typeof options === 'object' && 'connectionString' in options
        ? createSql(connectionString as string, rest as IamSqlOptions)
        : createSql(options as IamSqlOptions),
    )
  },
  isDriverErrorAfterSend: isPostgresLostConnection,
}

export const targets: readonly ReliabilityTarget[] = [pgPoolTarget, pgClientTarget, postgresTarget]

/** A role name per scenario and adapter, so each one's tokens and server events are its own. */
export function roleName(scenario: string, target: ReliabilityTarget): string {
  return `rel_${scenario}_${target.name}`.replace(/\W/g, '_').toLowerCase()
}
