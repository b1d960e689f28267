import type { IamAuth, IamDriverOptions } from '@rds-iam/core'
import {
  type ConnectionFactory,
  createConnectionHandle,
  createDriverAuth,
  createSharedTls,
  createSignInGroup,
  driverConfig,
  type SharedTls,
} from '@rds-iam/core/adapter'
import pg from 'pg'
import { callerOptions } from './caller-options'
import { createIamPool, withPoolLifetime } from './pool'
import { signIn } from './sign-in'

export * from '@rds-iam/core'

/** pg's `PoolConfig` without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamPoolConfig extends Omit<pg.PoolConfig, 'password' | 'ssl' | 'Client'>, IamDriverOptions {}

/** pg's `ClientConfig` without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamClientConfig extends Omit<pg.ClientConfig, 'password' | 'ssl'>, IamDriverOptions {}

/** A `pg.Client` constructor whose instances sign in with IAM; usable wherever code does `new Client(config)`. */
export interface IamClientClass {
  new (config?: string | pg.ClientConfig): pg.Client
  /**
   * Fails at once the connects of this class's clients that are waiting for AWS credentials, for a pool of them
   * that is being closed: its `end()` then need not wait for a credential provider that hangs.
   * @example
   * const IamClient = createClientClass(config)
   * const pool = new pg.Pool({ Client: IamClient })
   * // at shutdown:
   * IamClient.abortWaitingSignIns()
   * await pool.end()
   */
  abortWaitingSignIns(): void
}

interface ResolvedConfig {
  auth: IamAuth
  pgConfig: pg.ClientConfig
}

// No argument is legal, as for `new pg.Pool()`: PGHOST, PGUSER and the rest then say everything.
function resolveConfig(config: IamClientConfig | undefined, rememberFor?: object): ResolvedConfig {
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
  const { auth, database, urlParameters } = createDriverAuth({
    explicit: { host, port, user, database: named, ssl },
    url: connectionString,
    // pg parses the connection string over its config, so the URL wins.
    precedence: 'url',
    misplacedUrl: {
      options: { url: (driverOptions as { url?: unknown }).url },
      hint: 'pg takes its URL as `connectionString`.',
    },
    iam,
    rememberFor,
  })
  // The URL's own driver settings (application_name, options, statement_timeout, ...) win over the config's, as
  // pg applies a connection string over its config.
  const pgConfig = { ...driverOptions, ...urlParameters, host: auth.host, port: auth.port, user: auth.user }
  return { auth, pgConfig: database === undefined ? pgConfig : { ...pgConfig, database } }
}

// Each attempt is a new pg.Client, as pg asks ("a Client cannot be reused").
function pgClientFactory(pgConfig: pg.ClientConfig, tls: SharedTls): ConnectionFactory<pg.Client> {
  return {
    create: (password, timeoutMs) =>
      new pg.Client({ ...pgConfig, password, ssl: tls.options, connectionTimeoutMillis: timeoutMs ?? 0 }),
    open: (client) => signIn(client, tls, () => client.connect()),
    discard(client) {
      client.on('error', () => {})
      client.end().catch(() => {})
    },
  }
}

/**
 * A `pg.Client` class for code that constructs clients itself (pg-pool's `Client` option, Knex, TypeORM, Prisma):
 * each instance signs in with an IAM token over verified TLS and retries a rejected sign-in once.
 * @example
 * const pool = new pg.Pool({ Client: createClientClass({ host, user, database }), max: 10 })
 */
export function createClientClass(config?: IamClientConfig): IamClientClass {
  return clientClass(resolveConfig(config))
}

// What pools of each class's connections should know of its endpoint, for the adapters that build pools of it.
const poolLifetimes = new WeakMap<IamClientClass, number | undefined>()

/**
 * The age in seconds at which a pool of this class's connections should retire one, when the pool's own config
 * says nothing: 3300 on Aurora DSQL, whose sessions end at 60 minutes; undefined elsewhere (and for other classes).
 * For adapters that build pools of `createClientClass` clients (Knex, TypeORM, Prisma).
 * @example poolLifetimeOf(createClientClass({ host: 'abc123.dsql.us-east-1.on.aws', user: 'admin' })) // 3300
 */
export function poolLifetimeOf(Client: unknown): number | undefined {
  return typeof Client === 'function' ? poolLifetimes.get(Client as IamClientClass) : undefined
}

/**
 * A pg-pool config for a pool of this class's connections: `maxLifetimeSeconds` under Aurora DSQL's session limit
 * unless the config sets one, the config unchanged elsewhere.
 * @example new pg.Pool(withIamPoolDefaults({ Client, max: 10 }))
 */
export function withIamPoolDefaults<T extends pg.PoolConfig & { Client: IamClientClass }>(config: T): T {
  return withPoolLifetime(config, poolLifetimeOf(config.Client))
}

function clientClass({ auth, pgConfig }: ResolvedConfig): IamClientClass {
  const tls = createSharedTls(auth)
  const group = createSignInGroup()
  // A function that returns an object works with `new`; what it returns is the handle, an instanceof pg.Client.
  function IamClient(options?: string | pg.ClientConfig): pg.Client {
    const merged = { ...callerOptions(options), ...pgConfig }
    return createConnectionHandle(
      auth,
      pgClientFactory(merged, tls),
      merged.connectionTimeoutMillis || undefined,
      group,
    )
  }
  const Client = Object.assign(IamClient, {
    abortWaitingSignIns: group.abortWaiting,
  }) as unknown as IamClientClass
  poolLifetimes.set(Client, auth.poolMaxLifetimeSeconds)
  return Client
}

/**
 * A real `pg.Pool` whose connections sign in with IAM tokens over verified TLS. A connect rejected for its token
 * is retried once on a new connection with a fresh token; a query on an open connection does no IAM work.
 * @example
 * const pool = createPool({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app', database: 'app' })
 * const { rows } = await pool.query('select now()')
 */
export function createPool(config?: IamPoolConfig): pg.Pool {
  const { auth, pgConfig } = resolveConfig(config)
  return createIamPool(auth, pgConfig)
}

/**
 * A real `pg.Client` that signs in with an IAM token over verified TLS; `connect()` retries once on a new
 * connection with a fresh token when the server rejects the first. Clients made from one config object share its
 * IAM set-up (credentials, token, TLS context) while the config and the environment say the same.
 * @example
 * const client = createClient({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app' })
 * await client.connect()
 */
export function createClient(config?: IamClientConfig): pg.Client {
  const IamClient = clientClass(resolveConfig(config, config ?? NO_CONFIG))
  return new IamClient()
}

// One object for "no config" (PGHOST and the rest say everything), so that a client made per request without one
// shares its set-up too.
const NO_CONFIG: IamClientConfig = Object.freeze({})
