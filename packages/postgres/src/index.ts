import type { IamDriverOptions } from '@rds-iam/core'
import { createDriverAuth, createSharedTls } from '@rds-iam/core/adapter'
import postgres from 'postgres'
import { withConnectRetry } from './query-retry'
import { choseBackoff, reconnectBackoff } from './reconnect-backoff'
import { createSocketFactory } from './socket-factory'

export * from '@rds-iam/core'

/** postgres.js options without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamSqlOptions
  extends Omit<postgres.Options<Record<string, postgres.PostgresType>>, 'pass' | 'password' | 'ssl'>,
    IamDriverOptions {}

// One object for "no options", so that `createSql(url)` made per request shares its set-up too.
const NO_OPTIONS: IamSqlOptions = Object.freeze({})

/**
 * A postgres.js `sql` whose connections sign in with IAM tokens over verified TLS. A query whose connection was
 * rejected for its token is sent again once on a connection with a fresh token (safe: it was never sent).
 * Queries on open connections run postgres.js's own code: the IAM work happens when a connection opens.
 * @example
 * const sql = createSql({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app', database: 'app' })
 * const [{ now }] = await sql`select now()`
 * @example
 * const sql = createSql('postgres://app@mydb.cluster-abc.us-east-1.rds.amazonaws.com/app', { max: 5 })
 */
export function createSql(options?: IamSqlOptions): postgres.Sql
export function createSql(url: string, options?: IamSqlOptions): postgres.Sql
export function createSql(urlOrOptions?: string | IamSqlOptions, maybeOptions?: IamSqlOptions): postgres.Sql {
  // No options (or null, as postgres.js allows) means PGHOST, PGUSER and the rest say everything.
  const [url, options] =
    typeof urlOrOptions === 'string'
      ? [urlOrOptions, maybeOptions ?? NO_OPTIONS]
      : [undefined, urlOrOptions ?? NO_OPTIONS]
  const { iam, ssl, host, hostname, port, user, username, database: named, db, ...driverOptions } = options
  const { connectionString, url: urlOption } = options as { connectionString?: unknown; url?: unknown }
  const { auth, database, urlParameters } = createDriverAuth({
    explicit: { host: host ?? hostname, port, user: user ?? username, database: named ?? db, ssl },
    url,
    misplacedUrl: {
      options: { connectionString, url: urlOption },
      hint: 'postgres.js takes its URL as the first argument: createSql(url, options).',
    },
    // postgres.js reads explicit options before the URL, so they win.
    precedence: 'explicit',
    iam,
    // A `sql` made per request from one options object shares their IAM set-up while they say the same.
    rememberFor: options,
  })
  // Filled before the first connect; the socket factory starts TLS with it, so postgres.js's own `ssl` is off.
  const tls = createSharedTls(auth)
  const sockets = createSocketFactory(auth, tls, () => ({
    timeoutMs: connectTimeoutMs,
    negotiation: (sql.options as { sslnegotiation?: unknown }).sslnegotiation,
  }))
  // postgres.js documents `socket` (a factory, awaited per connect) but leaves it out of its types.
  // Aurora DSQL ends sessions at 60 minutes; postgres.js's own default (30 to 60 minutes) can reach that.
  const lifetime = auth.poolMaxLifetimeSeconds
  const ownLifetime = driverOptions.max_lifetime !== undefined || 'max_lifetime' in urlParameters
  const connectionOptions = {
    ...(choseBackoff(driverOptions, urlParameters) ? {} : { backoff: reconnectBackoff }),
    ...driverOptions,
    ...(lifetime === undefined || ownLifetime ? {} : { max_lifetime: lifetime }),
    host: auth.host,
    port: auth.port,
    user: auth.user,
    database,
    ssl: false,
    socket: sockets.open,
    pass: sockets.password,
  }
  // postgres.js reads its options (max, idle_timeout, ...) and server parameters (application_name, ...) from a
  // URL's query; given only those, it applies them as it would, while the options above say where and how to sign in.
  const query = new URLSearchParams(urlParameters).toString()
  const sql = query
    ? postgres(`postgres://localhost/?${query}`, connectionOptions)
    : postgres(connectionOptions)
  // Read by the socket factory at each connect, so defined before any connect happens.
  const connectTimeoutMs = 1000 * (sql.options.connect_timeout || 0) || undefined
  // postgres.js waits for the connects under way; those waiting for AWS credentials fail at once instead.
  const end = sql.end
  sql.end = async (endOptions) => {
    await sockets.endWaiting()
    return end(endOptions)
  }
  return withConnectRetry(sql, auth, connectTimeoutMs)
}
