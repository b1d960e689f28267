import { createRateWindow } from './rate-window.js'

/** Switches a test flips to make the emulator fail the way RDS can. Each takes effect for new connections. */
export interface EmulatorControls {
  /** Tokens are accepted for at most `seconds` (1–900; Aurora DSQL 1–604800) after their `X-Amz-Date`. */
  setTokenLifetime(seconds: number): void
  /** Moves the emulator's clock by `ms` (negative: back) from the machine's. */
  setClockOffset(ms: number): void
  /**
   * The next `count` IAM logins fail with the PAM message (with `direct`, PostgreSQL's LDAP one) whatever their
   * token (reason `forced`).
   */
  rejectNext(count?: number): void
  /** While on, every new connection is closed as soon as it is accepted. Throws with `direct`. */
  refuseNew(on?: boolean): void
  /** Waits `ms` before answering each token, like a slow or busy instance. */
  delayAuth(ms: number): void
  /**
   * Beyond `perSecond` IAM logins in any second, answers FATAL 57014 `canceling authentication due to timeout`
   * as an overloaded RDS instance does; `null` lifts the limit. Throws with `direct`.
   */
  throttle(perSecond: number | null): void
}

/** The controls plus what the emulator reads from them. */
export interface ControlState extends EmulatorControls {
  /** The emulator's clock, epoch ms. */
  now(): number
  readonly tokenLifetimeSeconds: number
  readonly authDelayMs: number
  readonly refusing: boolean
  /** True (and counts one down) when `rejectNext` asked for this login to fail. */
  takeForcedRejection(): boolean
  /** Counts one IAM login against the throttle; false when it is over the limit. */
  admitLogin(): boolean
}

/** Initial values of the controls. */
export interface ControlOptions {
  tokenLifetimeSeconds?: number
  /** The longest token lifetime of the emulated server: 900 for RDS, 604800 for Aurora DSQL. */
  maxTokenLifetimeSeconds?: number
  clockOffsetMs?: number
}

function checkTokenLifetime(seconds: number, max: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > max) {
    throw new RangeError(`token lifetime must be a whole number of seconds from 1 to ${max}, got ${seconds}`)
  }
  return seconds
}

function checkNonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be 0 or more, got ${value}`)
  return value
}

/** Creates the control state of one emulator. */
export function createControls(options: ControlOptions = {}): ControlState {
  const maxLifetime = options.maxTokenLifetimeSeconds ?? 900
  let tokenLifetimeSeconds = checkTokenLifetime(options.tokenLifetimeSeconds ?? maxLifetime, maxLifetime)
  let clockOffsetMs = options.clockOffsetMs ?? 0
  let forcedRejections = 0
  let refusing = false
  let authDelayMs = 0
  const logins = createRateWindow()

  return {
    get tokenLifetimeSeconds() {
      return tokenLifetimeSeconds
    },
    get authDelayMs() {
      return authDelayMs
    },
    get refusing() {
      return refusing
    },
    now: () => Date.now() + clockOffsetMs,
    setTokenLifetime(seconds) {
      tokenLifetimeSeconds = checkTokenLifetime(seconds, maxLifetime)
    },
    setClockOffset(ms) {
      clockOffsetMs = ms
    },
    rejectNext(count = 1) {
      forcedRejections = checkNonNegative('rejectNext count', count)
    },
    refuseNew(on = true) {
      refusing = on
    },
    delayAuth(ms) {
      authDelayMs = checkNonNegative('delayAuth', ms)
    },
    throttle(perSecond) {
      logins.setLimit(perSecond === null ? null : checkNonNegative('throttle', perSecond))
    },
    takeForcedRejection() {
      if (forcedRejections === 0) return false
      forcedRejections--
      return true
    },
    admitLogin: logins.admit,
  }
}
