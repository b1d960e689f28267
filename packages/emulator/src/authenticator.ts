import { setTimeout as sleep } from 'node:timers/promises'
import type { ControlState } from './controls.js'
import type { RejectReason } from './events.js'
import { type EmulatorCredentials, type TokenRules, validateToken } from './token-validator.js'

/**
 * Decides whether an access key may connect as a database user, as an IAM policy with `rds-db:connect` does.
 * `user` is the role the session becomes: a startup user of more than 63 bytes is its first 63.
 * @example (request) => request.user !== 'readonly_app'
 */
export type EmulatorPolicy = (request: {
  accessKeyId: string
  user: string
  /** The action the token was signed for: `connect` (RDS), `DbConnect` or `DbConnectAdmin` (Aurora DSQL). */
  action: string
}) => boolean | Promise<boolean>

/** The answer to one IAM login. `detail` never contains the token. */
export type LoginVerdict =
  | { ok: true; accessKeyId: string; action: string }
  | { ok: false; reason: RejectReason; detail: string; accessKeyId?: string }

/** What an {@link Authenticator} checks tokens against. */
export interface AuthenticatorOptions {
  rules: TokenRules
  /** `endpoint:port` (RDS) or `endpoint` (Aurora DSQL) tokens must be signed for. */
  host: string
  region: string
  credentials: readonly EmulatorCredentials[]
  policy?: EmulatorPolicy
  /**
   * Aurora DSQL's `AWS IAM GRANT`: the access keys each role is mapped to. A role the map names accepts only its
   * keys; roles it leaves out (and every role without a map) accept any key.
   */
  roleGrants?: Readonly<Record<string, readonly string[]>>
  clockSkewMs: number
  controls: ControlState
}

/**
 * Answers one IAM login: the user its session becomes (the startup user as PostgreSQL cuts it) and the token it
 * sent as its password.
 */
export type Authenticator = (token: string, user: string) => Promise<LoginVerdict>

/** Combines the token rules, the controls a test set (delay, forced rejections, lifetime, clock) and the policy. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { controls } = options
  return async (token, user) => {
    if (controls.authDelayMs > 0) await sleep(controls.authDelayMs)
    if (controls.takeForcedRejection())
      return { ok: false, reason: 'forced', detail: 'rejectNext() asked for it' }
    const verdict = validateToken({
      rules: options.rules,
      token,
      user,
      host: options.host,
      region: options.region,
      credentials: options.credentials,
      now: controls.now(),
      maxLifetimeSeconds: controls.tokenLifetimeSeconds,
      clockSkewMs: options.clockSkewMs,
    })
    if (!verdict.ok) return verdict
    const { accessKeyId, action } = verdict
    const granted = options.roleGrants?.[user]
    if (granted !== undefined && !granted.includes(accessKeyId)) {
      const detail = `role "${user}" is not mapped to ${accessKeyId} (AWS IAM GRANT)`
      return { ok: false, reason: 'not-mapped', detail, accessKeyId }
    }
    if (!options.policy || (await options.policy({ accessKeyId, user, action }))) return verdict
    const detail = `the policy does not allow ${accessKeyId} to ${action} as "${user}"`
    return { ok: false, reason: 'policy', detail, accessKeyId }
  }
}
