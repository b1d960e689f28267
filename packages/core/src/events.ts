import { messageOf } from './errors'
import { redact } from './redact'
import type { IamEvent, IamLogger, TokenKey } from './types'

export type EmitEvent = (event: IamEvent) => void

type LogLevel = keyof IamLogger

const ignore: EmitEvent = () => {}

// Observability must never break authentication, so handler and logger failures are swallowed.
export function createEventEmitter(
  onEvent: ((event: IamEvent) => void) | undefined,
  logger: IamLogger | undefined,
): EmitEvent {
  if (!onEvent && !logger) return ignore
  return (event) => {
    try {
      onEvent?.(event)
    } catch (error) {
      log(logger, 'error', `rds-iam: an onEvent handler threw: ${redact(messageOf(error))}`, event)
    }
    if (logger) {
      const { level, message } = describeEvent(event)
      log(logger, level, message, event)
    }
  }
}

function log(logger: IamLogger | undefined, level: LogLevel, message: string, event: IamEvent): void {
  try {
    logger?.[level]?.(message, event)
  } catch {
    // A broken logger has nowhere left to report to.
  }
}

function describeEvent(event: IamEvent): { level: LogLevel; message: string } {
  switch (event.type) {
    case 'token-generated': {
      const how = event.background ? 'refreshed in the background' : 'generated'
      return {
        level: 'debug',
        message: `rds-iam: token ${how} for ${label(event.key)}, ${expiry(event.expiresAt)}`,
      }
    }
    case 'token-reused':
      return {
        level: 'debug',
        message: `rds-iam: cached token reused for ${label(event.key)}, ${expiry(event.expiresAt)}`,
      }
    case 'token-refresh-failed':
      return {
        level: 'warn',
        message: `rds-iam: background token refresh failed for ${label(event.key)}; keeping the token that ${expiry(event.expiresAt)}: ${event.error.message}`,
      }
    case 'token-invalidated':
      return { level: 'info', message: `rds-iam: token dropped for ${label(event.key)}` }
    case 'auth-retry':
      return {
        level: 'warn',
        message: `rds-iam: connect failed (${event.kind}); retry ${event.attempt} in ${event.delayMs} ms. ${event.hint}`,
      }
    case 'tls-insecure':
      return { level: 'warn', message: `rds-iam: TLS to ${event.host} is not verified: ${event.reason}` }
  }
}

function label(key: TokenKey): string {
  return `"${key.user}" at ${key.tokenHost}:${key.tokenPort} (${key.region})`
}

function expiry(expiresAt: Date): string {
  return `expires ${expiresAt.toISOString()}`
}
