import { isRdsIamError, redact } from '@rds-iam/core'

/** An error as a step reports it: what happened, and core's hint when it has one. Never a token. */
export function errorParts(error: unknown): { summary: string; hint: string | undefined } {
  const cause = (error as { cause?: unknown } | null | undefined)?.cause
  const known = isRdsIamError(error) ? error : isRdsIamError(cause) ? cause : undefined
  if (known) {
    // An RdsIamError's message is its summary followed by " Hint: " and the hint.
    const summary = known.message.endsWith(` Hint: ${known.hint}`)
      ? known.message.slice(0, -` Hint: ${known.hint}`.length)
      : known.message
    return { summary, hint: known.hint }
  }
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : String(error)
  return {
    summary: redact(typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text),
    hint: undefined,
  }
}
