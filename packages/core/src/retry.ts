import { setTimeout as sleepFor } from 'node:timers/promises'
import { classifyError } from './classify-error'
import { isRdsIamError, messageOf, RdsIamError } from './errors'
import type { EmitEvent } from './events'
import { redact } from './redact'
import type { SignedToken } from './token-signer'
import type { ErrorClassification, ErrorContext, RetryOptions } from './types'

/** What one connect attempt used; filled in while it runs. */
export interface ConnectAttempt {
  token?: SignedToken
}

export interface RetrySettings extends Required<RetryOptions> {
  // Told which attempt was rejected, so the token it used (and only that one) is dropped.
  invalidate: (attempt: ConnectAttempt) => void
  // Runs an attempt so that what it uses can be recorded on it.
  track?: <T>(attempt: ConnectAttempt, connect: () => Promise<T>) => Promise<T>
  emit: EmitEvent
  // Read when a connect fails, so the hint names a region that was only found at the first token.
  context: () => ErrorContext
  sleep?: (ms: number) => Promise<unknown>
  random?: () => number
  // Monotonic milliseconds; tests pass a fake that advances with their fake sleep.
  now?: () => number
}

export type Retry = <T>(connect: () => Promise<T>) => Promise<T>

// Authentication fails before any query is sent, so connecting again is always safe. Failures of kind `unknown`
// (a missing database, a syntax error) are not IAM's business and pass through unchanged.
export function createRetry(settings: RetrySettings): Retry {
  const { invalidate, emit, maxThrottleMs, baseDelayMs, context } = settings
  const sleep = settings.sleep ?? sleepFor
  const random = settings.random ?? Math.random
  const now = settings.now ?? (() => performance.now())
  const track = settings.track ?? ((_attempt, connect) => connect())

  return async function retry<T>(connect: () => Promise<T>): Promise<T> {
    const startedAt = now()
    let tokenRetried = false
    let throttleRetries = 0

    // The delay before the next attempt, or undefined when this failure is final.
    function nextDelay(classification: ErrorClassification, attempt: ConnectAttempt): number | undefined {
      if (classification.kind === 'token-rejected' && !tokenRetried) {
        tokenRetried = true
        invalidate(attempt)
        return 0
      }
      // The budget counts the attempts too: a throttled endpoint often answers slowly, not just with an error.
      const remainingMs = maxThrottleMs - (now() - startedAt)
      if (classification.kind !== 'throttled' || remainingMs <= 0) return undefined
      const ceiling = Math.min(maxThrottleMs, baseDelayMs * 2 ** throttleRetries++)
      // At least 1 ms, so the budget always runs out.
      return Math.min(remainingMs, Math.max(1, Math.round(random() * ceiling)))
    }

    for (let number = 1; ; number++) {
      const attempt: ConnectAttempt = {}
      try {
        return await track(attempt, connect)
      } catch (error) {
        if (isRdsIamError(error)) throw error
        const classification = classifyError(error, context())
        if (classification.kind === 'unknown') throw error
        const delayMs = nextDelay(classification, attempt)
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
