import { createDriverAuth, type IamAuth, type IamDriverOptions } from '@rds-iam/core'
import postgres from 'postgres'

export * from '@rds-iam/core'

/** postgres.js options without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamSqlOptions
  extends Omit<postgres.Options<Record<string, postgres.PostgresType>>, 'pass' | 'password' | 'ssl'>,
    IamDriverOptions {}

/**
 * A postgres.js `sql` whose connections sign in with IAM tokens over verified TLS. A query whose connection was
 * rejected for its token is sent again once on a connection with a fresh token (safe: it was never sent).
 * @example
 * const sql = createSql({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app', database: 'app' })
 * const [{ now }] = await sql`select now()`
 * @example
 * const sql = createSql('postgres://app@mydb.cluster-abc.us-east-1.rds.amazonaws.com/app', { max: 5 })
 */
export function createSql(options: IamSqlOptions): postgres.Sql
export function createSql(url: string, options?: IamSqlOptions): postgres.Sql
export function createSql(
  urlOrOptions: string | IamSqlOptions,
  maybeOptions: IamSqlOptions = {},
): postgres.Sql {
  const [url, options] =
    typeof urlOrOptions === 'string' ? [urlOrOptions, maybeOptions] : [undefined, urlOrOptions]
  const { iam, ssl, host, hostname, port, user, username, database: named, db, ...driverOptions } = options
  const { auth, database } = createDriverAuth({
    explicit: { host: host ?? hostname, port, user: user ?? username, database: named ?? db, ssl },
    url,
    // postgres.js reads explicit options before the URL, so they win.
    precedence: 'explicit',
    iam,
  })
  const sql = postgres({
    ...driverOptions,
    host: auth.host,
    port: auth.port,
    user: auth.user,
    database,
    pass: () => auth.getToken(),
    ssl: auth.ssl,
  })
  return withConnectRetry(sql, auth)
}

/** The slice of a postgres.js Query this adapter touches: its dispatch and its settle functions. */
interface DispatchableQuery {
  handler: (query: DispatchableQuery) => void
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  // postgres.js sets `state` when the query is written to a ready connection: null means never sent.
  state: unknown
  cursorFn?: unknown
  active: boolean
}

// A failure after the query was sent is carried as a value, so the retry never sees it.
type Outcome = { failedAfterSend: false; value: unknown } | { failedAfterSend: true; error: unknown }

function isDispatchable(value: unknown): value is DispatchableQuery {
  return value instanceof Promise && typeof (value as Partial<DispatchableQuery>).handler === 'function'
}

// A query is retried only while it was never written to a connection, so no statement runs twice. Errors after
// sending bypass the retry as a resolved outcome and are rethrown unchanged.
function retryWhileUnsent(query: DispatchableQuery, auth: IamAuth): void {
  const dispatch = query.handler
  const settle = { resolve: query.resolve, reject: query.reject }
  const attempt = (): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      query.resolve = (value) => {
        query.active = false
        resolve({ failedAfterSend: false, value })
      }
      query.reject = (error) => {
        query.active = false
        if (query.state === null) reject(error)
        else resolve({ failedAfterSend: true, error })
      }
      dispatch(query)
    })
  query.handler = () => {
    // A cursor, set up after the query was made, replaces resolve/reject on every batch: left to postgres.js.
    if (query.cursorFn) return dispatch(query)
    auth
      .retry(attempt)
      .then(
        (outcome) => (outcome.failedAfterSend ? settle.reject(outcome.error) : settle.resolve(outcome.value)),
        settle.reject,
      )
  }
}

function withConnectRetry(sql: postgres.Sql, auth: IamAuth): postgres.Sql {
  const wrapQueries =
    <A extends unknown[]>(create: (...args: A) => unknown) =>
    (...args: A): unknown => {
      const query = create(...args)
      if (isDispatchable(query)) retryWhileUnsent(query, auth)
      return query
    }
  // `sql.begin` sends its BEGIN through `sql.unsafe`, so transactions get the retry from the wrapped unsafe.
  // `sql.reserve` is left alone: postgres.js keeps a reservation whose connect failed in its queue and later
  // hands it a connection nobody releases, so retrying it would leak one connection per failed attempt.
  Object.assign(sql, { unsafe: wrapQueries(sql.unsafe), file: wrapQueries(sql.file) })
  const tagged = wrapQueries(sql as unknown as (...args: unknown[]) => unknown)
  return new Proxy(sql, { apply: (_target, _this, args: unknown[]) => tagged(...args) })
}
