import { configError, messageOf } from './errors'
import { redact } from './redact'
import type { IamEvent, IamLogger, TokenKey } from './types'

export type EmitEvent = (event: IamEvent) => void

type LogLevel = keyof IamLogger

/** The `code` of the process warning for TLS that is not verified, for `process.on('warning')` filters. */
export const INSECURE_TLS_WARNING = 'RDS_IAM_TLS_INSECURE'

const warnedHosts = new Set<string>()

/**
 * Warns through `process.emitWarning`, once per host and process like Node's own warnings, that TLS to `host` is
 * not verified. A downgrade nobody asked to hear about must still be heard: createEventEmitter calls this for
 * `tls-insecure` events when no logger is given.
 * @example warnInsecureTls('db.example.com', "ssl mode 'require' does not check the certificate")
 */
export function warnInsecureTls(host: string, reason: string): void {
  if (warnedHosts.has(host)) return
  warnedHosts.add(host)
  process.emitWarning(`rds-iam: ${insecureTls(host, reason)}`, { code: INSECURE_TLS_WARNING })
}

// The same words in a process warning and in a log line.
function insecureTls(host: string, reason: string): string {
  return `TLS to ${host} is not verified: ${reason}`
}

/**
 * Whether a logger takes `(object, message)` like pino and bunyan rather than `(message, ...details)` like console
 * and winston. The rule: it has pino's documented `bindings()` or bunyan's documented `addStream()`. pino and
 * bunyan drop or mangle a second argument after a message, so each shape gets the event where it keeps it.
 */
export function takesObjectFirst(logger: IamLogger): boolean {
  const candidate = logger as { bindings?: unknown; addStream?: unknown }
  return typeof candidate.bindings === 'function' || typeof candidate.addStream === 'function'
}

// `message` is written after the library's name, so every line says where it comes from.
type Write = (level: LogLevel, message: string, event: IamEvent) => void

// Observability must never break authentication, so handler and logger failures are swallowed; a handler or
// logger that could never work is refused when the auth is created instead of being ignored at every event.
export function createEventEmitter(
  onEvent: ((event: IamEvent) => void) | undefined,
  logger: IamLogger | undefined,
): EmitEvent {
  checkObservers(onEvent, logger)
  const write = logger ? writerFor(logger) : undefined
  return (event) => {
    try {
      onEvent?.(event)
    } catch (error) {
      write?.('error', `an onEvent handler threw: ${redact(messageOf(error))}`, event)
    }
    if (write) {
      const { level, message } = describeEvent(event)
      // Events carry no token by design; the text is redacted anyway, since it quotes error messages.
      write(level, redact(message), event)
    } else if (event.type === 'tls-insecure') {
      // Without a logger, TLS that lets a man in the middle take tokens is the one event worth a warning.
      warnInsecureTls(event.host, event.reason)
    }
  }
}

function checkObservers(onEvent: unknown, logger: unknown): void {
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw configError(
      '`onEvent` must be a function.',
      'Pass e.g. onEvent: (event) => metrics.count(event.type).',
    )
  }
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) {
    throw configError(
      '`logger` must be an object with debug, info, warn and error methods.',
      'Pass e.g. logger: console, or a pino or bunyan logger.',
    )
  }
}

function writerFor(logger: IamLogger): Write {
  const objectFirst = takesObjectFirst(logger)
  return (level, message, event) => {
    const line = `rds-iam: ${message}`
    try {
      const method = logger[level] as ((...args: unknown[]) => void) | undefined
      // Called on the logger, so class-based loggers keep `this`.
      method?.apply(logger, objectFirst ? [event, line] : [line, event])
    } catch {
      // A broken logger has nowhere left to report to.
    }
  }
}

function describeEvent(event: IamEvent): { level: LogLevel; message: string } {
  switch (event.type) {
    case 'token-generated': {
      const how = event.background ? 'refreshed in the background' : 'generated'
      return {
        level: 'debug',
        message: `token ${how} for ${label(event.key)}, ${expiry(event.expiresAt)}`,
      }
    }
    case 'token-reused':
      return {
        level: 'debug',
        message: `cached token reused for ${label(event.key)}, ${expiry(event.expiresAt)}`,
      }
    case 'token-refresh-failed':
      return {
        level: 'warn',
        message: `background token refresh failed for ${label(event.key)}; keeping the token that ${expiry(event.expiresAt)}: ${event.error.message}`,
      }
    case 'token-invalidated':
      return { level: 'info', message: `token dropped for ${label(event.key)}` }
    case 'auth-retry':
      return {
        level: 'warn',
        message: `connect failed (${event.kind}); retry ${event.attempt} in ${event.delayMs} ms. ${event.hint}`,
      }
    case 'tls-insecure':
      return { level: 'warn', message: insecureTls(event.host, event.reason) }
  }
}

function label(key: TokenKey): string {
  return `"${key.user}" at ${key.tokenHost}:${key.tokenPort} (${key.region})`
}

function expiry(expiresAt: Date): string {
  return `expires ${expiresAt.toISOString()}`
}
