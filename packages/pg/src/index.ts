import type { ConnectionOptions } from 'node:tls'
import type { IamAuth, IamDriverOptions } from '@rds-iam/core'
import {
  type ConnectionFactory,
  createConnectionHandle,
  createDriverAuth,
  driverConfig,
} from '@rds-iam/core/adapter'
import pg from 'pg'

export * from '@rds-iam/core'

/** pg's `PoolConfig` without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamPoolConfig extends Omit<pg.PoolConfig, 'password' | 'ssl' | 'Client'>, IamDriverOptions {}

/** pg's `ClientConfig` without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamClientConfig extends Omit<pg.ClientConfig, 'password' | 'ssl'>, IamDriverOptions {}

/** A `pg.Client` constructor whose instances sign in with IAM; usable wherever code does `new Client(config)`. */
export type IamClientClass = new (config?: string | pg.ClientConfig) => pg.Client

interface ResolvedConfig {
  auth: IamAuth
  pgConfig: pg.ClientConfig
}

// No argument is legal, as for `new pg.Pool()`: PGHOST, PGUSER and the rest then say everything.
function resolveConfig(config: IamClientConfig | undefined): ResolvedConfig {
  const {
    iam,
    connectionString,
    ssl,
    host,
    port,
    user,
    database: named,
    ...driverOptions
  } = driverConfig(config)
  const { auth, database } = createDriverAuth({
    explicit: { host, port: port === undefined ? undefined : Number(port), user, database: named, ssl },
    url: connectionString,
    // pg parses the connection string over its config, so the URL wins.
    precedence: 'url',
    iam,
  })
  const pgConfig = { ...driverOptions, host: auth.host, port: auth.port, user: auth.user }
  return { auth, pgConfig: database === undefined ? pgConfig : { ...pgConfig, database } }
}

// The slice of a pg.Client where pg keeps the password it sent.
interface PasswordHolder {
  password?: unknown
  connectionParameters?: { password?: unknown }
}

// Each attempt is a new pg.Client, as pg asks ("a Client cannot be reused"), sharing one TLS options object
// that is filled before the first attempt dials, so making a client loads no certificates.
function pgClientFactory(auth: IamAuth, pgConfig: pg.ClientConfig): ConnectionFactory<pg.Client> {
  const ssl: ConnectionOptions = {}
  let sslFilled = false
  return {
    create: (password, timeoutMs) =>
      new pg.Client({ ...pgConfig, password, ssl, connectionTimeoutMillis: timeoutMs ?? 0 }),
    async open(client) {
      if (!sslFilled) {
        Object.assign(ssl, await auth.tls())
        sslFilled = true
      }
      const signedIn = client as PasswordHolder
      const hook = signedIn.password
      try {
        await client.connect()
      } finally {
        // pg keeps the password it sent on the client and its parameters (hidden from inspect, but there for
        // anyone who looks); the hook goes back so that no token outlives the sign-in.
        signedIn.password = hook
        if (signedIn.connectionParameters) signedIn.connectionParameters.password = hook
      }
    },
    discard(client) {
      client.on('error', () => {})
      client.end().catch(() => {})
    },
  }
}

// A pool or an ORM constructs clients with its own settings: their driver options (timeouts, types,
// application_name) are kept, but where to connect and how to sign in are this adapter's alone.
function callerOptions(options: string | pg.ClientConfig | undefined): pg.ClientConfig {
  if (typeof options !== 'object' || options === null) return {}
  const { connectionString: _url, password: _password, ssl: _ssl, ...rest } = options
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))
}

function iamClientClass({ auth, pgConfig }: ResolvedConfig): IamClientClass {
  // A function that returns an object works with `new`; what it returns is the handle, an instanceof pg.Client.
  function IamClient(options?: string | pg.ClientConfig): pg.Client {
    const merged = { ...callerOptions(options), ...pgConfig }
    return createConnectionHandle(
      auth,
      pgClientFactory(auth, merged),
      merged.connectionTimeoutMillis || undefined,
    )
  }
  return IamClient as unknown as IamClientClass
}

/**
 * A `pg.Client` class for code that constructs clients itself (pg-pool's `Client` option, Knex, TypeORM, Prisma):
 * each instance signs in with an IAM token over verified TLS and retries a rejected sign-in once.
 * @example
 * const pool = new pg.Pool({ Client: createClientClass({ host, user, database }), max: 10 })
 */
export function createClientClass(config?: IamClientConfig): IamClientClass {
  return iamClientClass(resolveConfig(config))
}

/**
 * A real `pg.Pool` whose connections sign in with IAM tokens over verified TLS. A connect rejected for its token
 * is retried once on a new connection with a fresh token; a query on an open connection does no IAM work.
 * @example
 * const pool = createPool({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app', database: 'app' })
 * const { rows } = await pool.query('select now()')
 */
export function createPool(config?: IamPoolConfig): pg.Pool {
  const resolved = resolveConfig(config)
  return new pg.Pool({ ...resolved.pgConfig, Client: iamClientClass(resolved) })
}

/**
 * A real `pg.Client` that signs in with an IAM token over verified TLS; `connect()` retries once on a new
 * connection with a fresh token when the server rejects the first.
 * @example
 * const client = createClient({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app' })
 * await client.connect()
 */
export function createClient(config?: IamClientConfig): pg.Client {
  const IamClient = createClientClass(config)
  return new IamClient()
}
