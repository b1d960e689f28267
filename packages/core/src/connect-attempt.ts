import type { TrackedAttempt } from './retry'
import type { IamAuth } from './types'

// Symbol.for, so an IamAuth made by core's CJS build serves an adapter that loaded the ESM build too.
const attemptStarter = Symbol.for('@rds-iam/core:start-attempt:v1')

type AttemptStarter = (remainingMs: () => number | undefined) => TrackedAttempt

/** Lets `startConnectAttempt` reach the auth's attempts without putting them on the users' interface. */
export function exposeAttempts(auth: IamAuth, start: AttemptStarter): void {
  Object.defineProperty(auth, attemptStarter, { value: start })
}

/**
 * One connect attempt outside `auth.retry`, for a driver that makes its connections itself (pg-pool): the
 * connection signs in with `attempt.password`, and when the server rejects that token, `invalidateToken()` drops
 * it and only it. The driver's caller then retries through `auth.retry`.
 * @example
 * const { attempt, invalidateToken } = startConnectAttempt(auth)
 * const client = new pg.Client({ ...config, password: attempt.password })
 */
export function startConnectAttempt(auth: IamAuth): TrackedAttempt {
  const start = (auth as IamAuth & { [attemptStarter]?: AttemptStarter })[attemptStarter]
  if (!start) throw new TypeError('startConnectAttempt needs an IamAuth made by createIamAuth.')
  return start(() => undefined)
}
