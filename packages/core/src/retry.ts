import { setTimeout as sleepFor } from 'node:timers/promises'
import { classifyError } from './classify-error'
import { isRdsIamError, messageOf, RdsIamError } from './errors'
import type { EmitEvent } from './events'
import { redact } from './redact'
import type {
  ConnectAttempt,
  ErrorClassification,
  ErrorContext,
  RetryOptions,
  RetryRunOptions,
} from './types'

/** One attempt as the retry sees it: what the driver gets, and how to drop the token it used. */
export interface TrackedAttempt {
  attempt: ConnectAttempt
  /** Drops the token this attempt's connection handed to the server, and only that one. */
  invalidateToken(): void
  /**
   * The error to report when the connection failed (its driver's connect timeout, a drop) while its password
   * still waited for AWS credentials: those were what held the sign-in up. Undefined when it was not waiting.
   */
  failedWhileWaiting(cause: unknown): Promise<RdsIamError> | undefined
  /** Fails a password still waiting for AWS credentials at once, for a pool or client being closed. */
  abort(): void
}

export interface RetrySettings extends Required<RetryOptions> {
  // A fresh attempt; `remainingMs` reads what is left of the caller's time budget.
  startAttempt: (remainingMs: () => number | undefined) => TrackedAttempt
  emit: EmitEvent
  // Read when a connect fails, so the hint names a region that was only found at the first token.
  context: () => ErrorContext
  sleep?: (ms: number) => Promise<unknown>
  random?: () => number
  // Monotonic milliseconds; tests pass a fake that advances with their fake sleep.
  now?: () => number
}

export type Retry = <T>(
  connect: (attempt: ConnectAttempt) => Promise<T>,
  options?: RetryRunOptions,
) => Promise<T>

// Authentication fails before any query is sent, so connecting again is always safe. Failures of kind `unknown`
// (a missing database, a syntax error) are not IAM's business and pass through unchanged.
export function createRetry(settings: RetrySettings): Retry {
  const { emit, maxThrottleMs, baseDelayMs, context, startAttempt } = settings
  const sleep = settings.sleep ?? sleepFor
  const random = settings.random ?? Math.random
  const now = settings.now ?? (() => performance.now())

  return async function retry<T>(
    connect: (attempt: ConnectAttempt) => Promise<T>,
    options: RetryRunOptions = {},
  ): Promise<T> {
    const startedAt = now()
    const { timeoutMs } = options
    const remainingMs = (): number | undefined =>
      timeoutMs === undefined || timeoutMs <= 0 ? undefined : timeoutMs - (now() - startedAt)
    let tokenRetried = false
    let throttleRetries = 0

    // The delay before the next attempt, or undefined when this failure is final.
    function nextDelay(classification: ErrorClassification, tracked: TrackedAttempt): number | undefined {
      const left = Math.min(maxThrottleMs - (now() - startedAt), remainingMs() ?? Number.POSITIVE_INFINITY)
      if (left <= 0) return undefined
      if (classification.kind === 'token-rejected' && classification.retryable && !tokenRetried) {
        tokenRetried = true
        tracked.invalidateToken()
        return 0
      }
      // The budget counts the attempts too: a throttled endpoint often answers slowly, not just with an error.
      if (classification.kind !== 'throttled') return undefined
      const ceiling = Math.min(maxThrottleMs, baseDelayMs * 2 ** throttleRetries++)
      // At least 1 ms, so the budget always runs out.
      return Math.min(left, Math.max(1, Math.round(random() * ceiling)))
    }

    for (let number = 1; ; number++) {
      const tracked = startAttempt(remainingMs)
      try {
        return await connect(tracked.attempt)
      } catch (error) {
        if (isRdsIamError(error)) throw error
        const stalled = tracked.failedWhileWaiting(error)
        if (stalled) throw await stalled
        const classification = classifyError(error, context())
        if (classification.kind === 'unknown') throw error
        const delayMs = nextDelay(classification, tracked)
        if (delayMs === undefined) throw finalError(error, classification, context())
        emit({
          type: 'auth-retry',
          kind: classification.kind,
          attempt: number,
          delayMs,
          hint: classification.hint,
        })
        if (delayMs > 0) await sleep(delayMs)
      }
    }
  }
}

function finalError(error: unknown, { kind, hint }: ErrorClassification, context: ErrorContext): RdsIamError {
  const target = `${context.host ?? 'the database'}${context.port ? `:${context.port}` : ''}`
  const who = context.user ? ` as "${context.user}"` : ''
  return new RdsIamError(
    kind,
    `IAM sign-in${who} to ${target} failed (${kind}): ${redact(messageOf(error))}`,
    {
      hint,
      cause: error,
    },
  )
}
