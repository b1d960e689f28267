import { classifyError, type IamAuth } from '@rds-iam/core'
import type postgres from 'postgres'

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

/**
 * Gives each query of `sql` one retry on a fresh connection when its connection failed before the query was sent
 * (a token rejected, a throttled endpoint), through `auth.retry`.
 */
export function withConnectRetry(
  sql: postgres.Sql,
  auth: IamAuth,
  timeoutMs: number | undefined,
): postgres.Sql {
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
