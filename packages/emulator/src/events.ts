import type { TokenRejectReason } from './token-validator.js'

/**
 * Why a connection was refused. The token reasons, plus: `policy` (the `policy` option said no, as a
 * missing `rds-db:connect` or `dsql:DbConnect` permission does), `not-mapped` (an Aurora DSQL role not granted to
 * the key in `roleGrants`, or no such role), `forced` (`rejectNext`), `throttled` (`throttle`),
 * `too-many-connections` (`maxConnections`) and `no-encryption` (an IAM user without TLS, or any user while
 * `forceSsl` is on); as RDS Proxy also `connection-limit` (its connect rate or client connection limit),
 * `unsupported-option` (a startup parameter it refuses) and `no-secret` (a user it has no secret for).
 */
export type RejectReason =
  | TokenRejectReason
  | 'policy'
  | 'not-mapped'
  | 'forced'
  | 'throttled'
  | 'too-many-connections'
  | 'connection-limit'
  | 'unsupported-option'
  | 'no-secret'
  | 'no-encryption'

/**
 * What happened in the emulator. Never carries a token or a secret key. `user` and `database` are the names
 * PostgreSQL keeps: at most 63 bytes, so a longer user is named by the role its session becomes.
 */
export type EmulatorEvent =
  | { type: 'auth-accepted'; user: string; database: string; accessKeyId: string }
  | {
      type: 'auth-rejected'
      user: string
      database: string
      reason: RejectReason
      /** Explains the reason for a human; never contains the token. */
      detail: string
      accessKeyId?: string
    }
  /** A client that left while its login was being checked: no session was opened and nothing is counted. */
  | { type: 'client-left'; user: string; database: string }
  /** A user that is not an IAM user, handed to the upstream's own password authentication. */
  | { type: 'passthrough'; user: string; database: string; encrypted: boolean }
  | { type: 'cancel-forwarded' }
  | { type: 'connection-refused'; remoteAddress: string }
  | { type: 'connection-error'; message: string }
  | { type: 'restarted'; port: number }
  /** A session closed by the server because it reached `maxSessionAgeMs`, as Aurora DSQL ends sessions at 60 minutes. */
  | { type: 'session-aged-out'; user: string; database: string; ageMs: number }

/** Counters since the emulator started. */
export interface EmulatorStats {
  /** IAM connections whose token was accepted. */
  accepted: number
  /** Connections refused, by reason: IAM logins, and users of any kind refused for `no-encryption`. */
  rejected: Partial<Record<RejectReason, number>>
  /** Connections of users that are not IAM users. */
  passthrough: number
}

/** A console-like logger; every event is logged on one line. */
export interface EmulatorLogger {
  info?(message: string): void
  warn?(message: string): void
}

/** Receives, counts, keeps and forwards the emulator's events. */
export interface EventRecorder {
  emit(event: EmulatorEvent): void
  /** The most recent events, oldest first. */
  readonly events: readonly EmulatorEvent[]
  stats(): EmulatorStats
  /** Resolves with the first event, past or future, that matches; rejects after `timeoutMs`. */
  waitForEvent(predicate: (event: EmulatorEvent) => boolean, timeoutMs?: number): Promise<EmulatorEvent>
}

/** Options of {@link createEventRecorder}. */
export interface EventRecorderOptions {
  onEvent?: (event: EmulatorEvent) => void
  logger?: EmulatorLogger
}

// Keeps a long-running emulator (the CLI) from growing without bound.
const MAX_KEPT_EVENTS = 1000

function describe(event: EmulatorEvent): string {
  const { type, ...fields } = event
  const details = Object.entries(fields).map(([name, value]) => `${name}=${JSON.stringify(value)}`)
  return ['rds-iam-emulator', type, ...details].join(' ')
}

/** Creates the recorder behind `emulator.events`, `emulator.stats()`, `onEvent` and `logger`. */
export function createEventRecorder(options: EventRecorderOptions = {}): EventRecorder {
  const events: EmulatorEvent[] = []
  const waiters = new Set<(event: EmulatorEvent) => void>()
  const stats: EmulatorStats = { accepted: 0, rejected: {}, passthrough: 0 }

  const count = (event: EmulatorEvent): void => {
    if (event.type === 'auth-accepted') stats.accepted++
    else if (event.type === 'passthrough') stats.passthrough++
    else if (event.type === 'auth-rejected')
      stats.rejected[event.reason] = (stats.rejected[event.reason] ?? 0) + 1
  }

  return {
    events,
    emit(event) {
      count(event)
      events.push(event)
      if (events.length > MAX_KEPT_EVENTS) events.shift()
      if (event.type === 'auth-rejected' || event.type === 'connection-error')
        options.logger?.warn?.(describe(event))
      else options.logger?.info?.(describe(event))
      options.onEvent?.(event)
      for (const waiter of waiters) waiter(event)
    },
    stats: () => ({ ...stats, rejected: { ...stats.rejected } }),
    waitForEvent(predicate, timeoutMs = 10_000) {
      const past = events.find(predicate)
      if (past) return Promise.resolve(past)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no matching emulator event within ${timeoutMs} ms`))
        }, timeoutMs)
        const waiter = (event: EmulatorEvent): void => {
          if (!predicate(event)) return
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(event)
        }
        waiters.add(waiter)
      })
    },
  }
}
