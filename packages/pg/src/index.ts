import { createDriverAuth, type IamAuth, type IamDriverOptions } from '@rds-iam/core'
import pg from 'pg'

export * from '@rds-iam/core'

/** pg's `PoolConfig` without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamPoolConfig extends Omit<pg.PoolConfig, 'password' | 'ssl'>, IamDriverOptions {}

/** pg's `ClientConfig` without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamClientConfig extends Omit<pg.ClientConfig, 'password' | 'ssl'>, IamDriverOptions {}

interface ResolvedConfig {
  auth: IamAuth
  pgConfig: pg.ClientConfig
}

function resolveConfig(config: IamClientConfig): ResolvedConfig {
  const { iam, connectionString, ssl, host, port, user, database: named, ...driverOptions } = config
  const { auth, database } = createDriverAuth({
    explicit: { host, port: port === undefined ? undefined : Number(port), user, database: named, ssl },
    url: connectionString,
    // pg parses the connection string over its config, so the URL wins.
    precedence: 'url',
    iam,
  })
  const pgConfig: pg.ClientConfig = {
    ...driverOptions,
    host: auth.host,
    port: auth.port,
    user: auth.user,
    database,
    password: () => auth.getToken(),
    ssl: auth.ssl,
  }
  return { auth, pgConfig }
}

type ClientConnectCallback = (err: Error | null, client?: pg.Client) => void
type ConnectCallback = (
  err: Error | undefined,
  client?: pg.PoolClient,
  done?: (release?: Error | boolean) => void,
) => void

/**
 * A real `pg.Pool` whose connections sign in with IAM tokens over verified TLS. A connect rejected for its token
 * is retried once with a fresh token, for `pool.connect()` and `pool.query()` alike; a failed connect never stays
 * in the pool.
 * @example
 * const pool = createPool({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app', database: 'app' })
 * const { rows } = await pool.query('select now()')
 */
export function createPool(config: IamPoolConfig): pg.Pool {
  const { auth, pgConfig } = resolveConfig(config)
  class IamPool extends pg.Pool {
    // pg-pool's query() calls this.connect(callback), so overriding connect covers both paths.
    override connect(): Promise<pg.PoolClient>
    override connect(callback: ConnectCallback): void
    override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
      const connecting = auth.retry(() => super.connect())
      return callback
        ? settle(connecting, (client) => callback(undefined, client, client.release), callback)
        : connecting
    }
  }
  return new IamPool(pgConfig as pg.PoolConfig)
}

/**
 * A real `pg.Client` that signs in with an IAM token over verified TLS; `connect()` retries once with a fresh
 * token when the server rejects the first.
 * @example
 * const client = createClient({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app' })
 * await client.connect()
 */
export function createClient(config: IamClientConfig): pg.Client {
  const { auth, pgConfig } = resolveConfig(config)
  class IamClient extends pg.Client {
    override connect(): Promise<pg.Client>
    override connect(callback: ClientConnectCallback): void
    override connect(callback?: ClientConnectCallback): Promise<pg.Client> | undefined {
      let attempt = 0
      const connecting = auth.retry(() => {
        if (attempt++ > 0) resetAfterFailedConnect(this, pgConfig)
        return super.connect()
      })
      return callback ? settle(connecting, (client) => callback(null, client), callback) : connecting
    }
  }
  return new IamClient(pgConfig)
}

// pg's connect methods also take a node-style callback instead of returning the promise.
function settle<T>(
  promise: Promise<T>,
  onValue: (value: T) => void,
  onError: (error: Error) => void,
): undefined {
  promise.then(onValue, onError)
  return undefined
}

/**
 * A pg.Client connects once; after a rejected sign-in it needs a fresh wire connection and cleared connect state
 * before it may try again. The abandoned connection is detached first: its late 'end' would otherwise fail the
 * new attempt, and a late socket error without a listener would crash the process.
 */
function resetAfterFailedConnect(client: pg.Client, pgConfig: pg.ClientConfig): void {
  const internals = client as unknown as { connection: pg.Connection } & Record<string, unknown>
  const abandoned = internals.connection
  abandoned.removeAllListeners()
  abandoned.on('error', () => {})
  abandoned.stream.destroy()
  Object.assign(internals, { _connecting: false, _connected: false, _connectionError: false, _ending: false })
  Object.assign(internals, { _ended: false, _queryable: true, connection: new pg.Connection(pgConfig) })
}
