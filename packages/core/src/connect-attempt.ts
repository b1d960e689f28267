import type { TrackedAttempt } from './retry'
import type { ConnectAttempt, IamAuth } from './types'

// Symbol.for, so an IamAuth made by core's CJS build serves an adapter that loaded the ESM build too.
const attemptStarter = Symbol.for('@rds-iam/core:start-attempt:v1')

/** A connect attempt of a driver that makes its connections itself: a `TrackedAttempt` that is its own sign-in. */
export interface SignInAttempt extends TrackedAttempt {
  /**
   * Runs the connection's opening as one sign-in, for OpenTelemetry (its span, its duration); a plain call of
   * `open(false)` while nothing records. `traced` says whether the end of the opening is recorded: a driver that
   * must watch its connection for that end watches only when it is.
   */
  signIn<T>(open: (traced: boolean) => Promise<T>): Promise<T>
}

type AttemptStarter = (remainingMs: () => number | undefined) => SignInAttempt

// On each ConnectAttempt core makes, so that whoever holds only the attempt (a connection handle) can end its wait.
const attemptAbort = Symbol.for('@rds-iam/core:abort-attempt:v1')

/** Makes `tracked.abort` reachable from its attempt alone; see `abortConnectAttempt`. */
export function exposeAbort<T extends TrackedAttempt>(tracked: T): T {
  Object.defineProperty(tracked.attempt, attemptAbort, { value: tracked.abort })
  return tracked
}

// Fails the password hook of `attempt` at once when it still waits for AWS credentials; does nothing otherwise, or
// for an attempt core did not make.
export function abortConnectAttempt(attempt: ConnectAttempt): void {
  ;(attempt as ConnectAttempt & { [attemptAbort]?: () => void })[attemptAbort]?.()
}

/** Lets `startConnectAttempt` reach the auth's attempts without putting them on the users' interface. */
export function exposeAttempts(auth: IamAuth, start: AttemptStarter): void {
  Object.defineProperty(auth, attemptStarter, { value: start })
}

/**
 * One connect attempt outside `auth.retry`, for a driver that makes its connections itself (pg-pool, postgres.js):
 * the connection signs in with `attempt.password`, and when the server rejects that token, `invalidateToken()`
 * drops it and only it; `abort()` fails a password still waiting for AWS credentials, for a pool being closed. The
 * driver's caller then retries through `auth.retry`. With `timeoutMs`, the password waits at most that long
 * (from now) for credentials.
 * @example
 * const { attempt, invalidateToken, signIn } = startConnectAttempt(auth)
 * const client = new pg.Client({ ...config, password: attempt.password })
 * await signIn(() => client.connect())
 */
export function startConnectAttempt(auth: IamAuth, timeoutMs?: number): SignInAttempt {
  const start = (auth as IamAuth & { [attemptStarter]?: AttemptStarter })[attemptStarter]
  if (!start) throw new TypeError('startConnectAttempt needs an IamAuth made by createIamAuth.')
  if (timeoutMs === undefined) return start(() => undefined)
  const startedAt = performance.now()
  return start(() => timeoutMs - (performance.now() - startedAt))
}
