import { type InspectOptions, inspect } from 'node:util'
import { redact, redactErrorChain } from './redact'
import type { RdsIamErrorCode, RdsIamErrorLike } from './types'

/** The parts of an `RdsIamError` besides its code and summary. */
export interface RdsIamErrorOptions {
  /**
   * What the user should check or change.
   * @example 'Set the `region` option or AWS_REGION.'
   */
  hint: string
  /**
   * The error that caused this one, kept for debugging.
   * @example { cause: serverError }
   */
  cause?: unknown
}

/**
 * The one error class of rds-iam: a `code` to branch on, a `hint` that says how to fix it and the original error
 * as `cause`. Its message is the summary followed by the hint.
 * @example
 * try {
 *   await pool.connect()
 * } catch (error) {
 *   if (error instanceof RdsIamError && error.code === 'not-iam-user') console.error(error.hint)
 * }
 */
export class RdsIamError extends Error {
  override readonly name = 'RdsIamError'
  readonly code: RdsIamErrorCode
  readonly hint: string

  constructor(code: RdsIamErrorCode, summary: string, options: RdsIamErrorOptions) {
    const hint = redact(options.hint)
    // Redacted before the stack captures the message. Passing `{ cause: undefined }` would still create an own
    // `cause` property.
    super(
      `${redact(summary)} Hint: ${hint}`,
      options.cause === undefined ? undefined : { cause: redactErrorChain(options.cause) },
    )
    this.code = code
    this.hint = hint
  }

  toJSON(): RdsIamErrorLike & { hint: string } {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint }
  }

  // The cause may hold secrets in objects that are not copied (a driver's config), so inspect redacts what it prints.
  [inspect.custom](_depth: number, options: InspectOptions): string {
    return redact(inspect(this, { ...options, customInspect: false }))
  }
}

/**
 * Whether `value` is an `RdsIamError`, also when it comes from another copy of `@rds-iam/core`.
 * @example if (isRdsIamError(error)) console.error(error.hint)
 */
export function isRdsIamError(value: unknown): value is RdsIamError {
  if (value instanceof RdsIamError) return true
  const candidate = value as Partial<RdsIamError> | null
  return (
    candidate instanceof Error &&
    candidate.name === 'RdsIamError' &&
    typeof candidate.code === 'string' &&
    typeof candidate.hint === 'string'
  )
}

export function configError(summary: string, hint: string): RdsIamError {
  return new RdsIamError('config', `Invalid rds-iam options: ${summary}`, { hint })
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return typeof error === 'string' ? error : String(error)
}

export function toErrorLike(error: unknown): RdsIamErrorLike {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  return {
    name: typeof name === 'string' ? name : 'Error',
    code: typeof code === 'string' ? code : 'unknown',
    message: redact(messageOf(error)),
  }
}
