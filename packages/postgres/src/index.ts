import { connect as dial, Socket } from 'node:net'
import { classifyError, type IamAuth, type IamDriverOptions } from '@rds-iam/core'
import { createDriverAuth, createSharedTls } from '@rds-iam/core/adapter'
import postgres from 'postgres'

export * from '@rds-iam/core'

/** postgres.js options without a password (the token is the password) plus `ssl` policy and `iam`. */
export interface IamSqlOptions
  extends Omit<postgres.Options<Record<string, postgres.PostgresType>>, 'pass' | 'password' | 'ssl'>,
    IamDriverOptions {}

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
    typeof urlOrOptions === 'string' ? [urlOrOptions, maybeOptions ?? {}] : [undefined, urlOrOptions ?? {}]
  const { iam, ssl, host, hostname, port, user, username, database: named, db, ...driverOptions } = options
  const { auth, database } = createDriverAuth({
    explicit: { host: host ?? hostname, port, user: user ?? username, database: named ?? db, ssl },
    url,
    // postgres.js reads explicit options before the URL, so they win.
    precedence: 'explicit',
    iam,
  })
  // postgres.js copies `ssl` into tls.connect at each handshake, so the first connect can fill it in.
  const tls = createSharedTls(auth)
  // The token of the latest connect: a connection signing in after a newer connect sends that newer, valid one.
  let token = ''
  // postgres.js reconnects at once and without end when a server closes new connections before saying anything
  // (an endpoint refusing or failing over), restarting its connect timer each time: a streak of such closes is
  // paced and bounded by connect_timeout here. Any answer of the server (it asks for the password) ends it.
  let silentSince: number | undefined
  async function openSocket(): Promise<Socket> {
    try {
      if (silentSince !== undefined) await pauseAfterSilentClose(silentSince, connectTimeoutMs)
      await tls.fill()
      // postgres.js starts its connect timer after this factory, so the timeout must also bound the provider.
      token = await auth.getToken({ timeoutMs: connectTimeoutMs })
    } catch (error) {
      silentSince = undefined
      return failedSocket(error)
    }
    // Dialed here because postgres.js splits its host at ':', which turns '::1' into localhost.
    const socket = dial({ host: auth.host, port: auth.port })
    socket.once('close', () => {
      if (socket.bytesRead === 0) silentSince ??= performance.now()
    })
    return socket
  }
  // postgres.js documents `socket` (a factory, awaited per connect) but leaves it out of its types.
  const connectionOptions = {
    ...driverOptions,
    host: auth.host,
    port: auth.port,
    user: auth.user,
    database,
    ssl: tls.options,
    socket: openSocket,
    // postgres.js never handles a rejected `pass`, so the token is made in openSocket and only read here.
    pass: () => {
      silentSince = undefined
      return token
    },
  }
  const sql = postgres(connectionOptions)
  const connectTimeoutMs = 1000 * (sql.options.connect_timeout || 0) || undefined
  return withConnectRetry(sql, auth, connectTimeoutMs)
}

// Waits a little before dialing again a server that just closed the last connection unanswered, and gives up once
// such closes have gone on for connect_timeout, as if one connect had lasted that long.
async function pauseAfterSilentClose(since: number, timeoutMs: number | undefined): Promise<void> {
  if (timeoutMs !== undefined && performance.now() - since >= timeoutMs) {
    throw Object.assign(
      new Error(`The server closed every new connection unanswered for ${timeoutMs} ms (connect_timeout).`),
      { code: 'CONNECT_TIMEOUT' },
    )
  }
  await new Promise((resolve) => setTimeout(resolve, SILENT_CLOSE_PAUSE_MS))
}

// Short next to any connect timeout, long enough that a refusing server costs a few dials a second, not thousands.
const SILENT_CLOSE_PAUSE_MS = 100

// postgres.js fails the waiting query with a socket's error and moves on to the next query, where a rejected
// socket factory would leave its connection stuck. The error answers postgres.js's first write, as a server's
// would: closed any earlier, before postgres.js flushed that write, the connection keeps a write pending forever
// and every later connect on it times out. Closing without `hadError` keeps its backoff for real outages.
function failedSocket(error: unknown): Socket {
  const socket = new Socket()
  socket.write = (() => {
    setImmediate(() => {
      socket.emit('error', error)
      socket.destroy()
    })
    return true
  }) as Socket['write']
  return socket
}

/** The slice of a postgres.js Query this adapter touches. */
interface PendingQuery {
  handler: (query: PendingQuery) => void
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  // postgres.js sets `state` when it writes the query to a connection: null means it never reached the server.
  state: unknown
}

type Outcome = { value: unknown } | { error: unknown }
// A failure before sending, with the number of charged rejections when the query was dispatched (none for a cancel).
type Unsent = { unsent: unknown; chargedBefore?: number }

function isQuery(value: unknown): value is PendingQuery {
  return value instanceof Promise && typeof (value as Partial<PendingQuery>).handler === 'function'
}

function withConnectRetry(sql: postgres.Sql, auth: IamAuth, timeoutMs: number | undefined): postgres.Sql {
  // postgres.js calls `pass` without saying which connection asks, so a rejection cannot name its token. It is
  // charged to the current token unless another rejection was charged since its query was dispatched: then the
  // token it used is already gone, and dropping the current one would throw away the fresh token of that retry.
  let charged = 0

  function dispatchAgain(query: PendingQuery, dispatch: PendingQuery['handler']): Promise<Outcome | Unsent> {
    const chargedBefore = charged
    return new Promise((settle) => {
      query.resolve = (value) => settle({ value })
      query.reject = (error) => settle(query.state === null ? { unsent: error, chargedBefore } : { error })
      dispatch(query)
    })
  }

  // Runs only once a query failed before it was sent: a query on an open connection never gets here.
  function retryUnsent(query: PendingQuery, first: Unsent, settle: Pick<PendingQuery, 'resolve' | 'reject'>) {
    const dispatch = query.handler
    let known: Unsent | undefined = first
    // Between attempts only `query.cancel()` rejects the query: kept, so the retry ends with it, sending nothing.
    const betweenAttempts = (error: unknown): void => {
      known = { unsent: error }
    }
    query.reject = betweenAttempts
    auth
      .retry(
        async (attempt) => {
          const outcome = known ?? (await dispatchAgain(query, dispatch))
          known = undefined
          query.reject = betweenAttempts
          if (!('unsent' in outcome)) return outcome
          if (outcome.chargedBefore === charged && classifyError(outcome.unsent).kind === 'token-rejected') {
            charged++
            // Hands out the current token without signing and records it on this attempt, so only it is dropped.
            await attempt.password()
          }
          throw outcome.unsent
        },
        { timeoutMs },
      )
      .then(
        (outcome) => ('value' in outcome ? settle.resolve(outcome.value) : settle.reject(outcome.error)),
        settle.reject,
      )
  }

  // The only work a query gets: one function that passes failures after sending straight on. A cursor replaces
  // resolve/reject on each batch, so cursors are left to postgres.js.
  function watchIfQuery<T>(value: T): T {
    if (!isQuery(value)) return value
    const { reject } = value
    const chargedBefore = charged
    value.reject = (error) =>
      value.state === null
        ? retryUnsent(value, { unsent: error, chargedBefore }, { resolve: value.resolve, reject })
        : reject(error)
    return value
  }
  const watched =
    <A extends unknown[]>(create: (...args: A) => unknown) =>
    (...args: A): unknown =>
      watchIfQuery(create(...args))
  // `sql.begin` sends its BEGIN through `sql.unsafe`, so transactions get the retry from the watched unsafe.
  // `sql.reserve` is left alone: postgres.js keeps a reservation whose connect failed in its queue and later
  // hands it a connection nobody releases, so retrying it would leak one connection per failed attempt.
  Object.assign(sql, { unsafe: watched(sql.unsafe), file: watched(sql.file) })
  // A plain function carrying sql's own properties, not a Proxy: V8 runs postgres.js's query path about 8 µs
  // slower per query when its tagged template is called through a Proxy (measured, bench/RESULTS.md B6).
  const watchedSql = watched(sql)
  Object.defineProperties(watchedSql, Object.getOwnPropertyDescriptors(sql))
  return watchedSql as postgres.Sql
}
