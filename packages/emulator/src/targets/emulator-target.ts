import type { ErrorFields } from '../backend-messages.js'
import type { RejectReason } from '../events.js'
import type { HbaRefusal } from '../postgres-errors.js'
import type { PostgresName } from '../postgres-name.js'
import type { TokenRules } from '../token-validator.js'
import type { Upstream } from '../upstream.js'

/** The kinds of endpoint the emulator can serve as. */
export type EmulatorTargetKind = 'rds' | 'dsql'

/** A refused login as the answer to it sees it: why, and the text the emulator's own logs give. */
export interface Refusal {
  reason: RejectReason
  detail: string
  accessKeyId?: string
}

/** What a target's server sends for each refusal the emulator answers itself. */
export interface TargetAnswers {
  /** A token refused for any reason (RDS: the PAM message for all of them). */
  tokenRejected(user: PostgresName, refusal: Refusal): ErrorFields
  /** A login without TLS: `refusal` says how RDS's pg_hba.conf would refuse it. */
  noEncryption(refusal: HbaRefusal, host: string, user: PostgresName, database: PostgresName): ErrorFields
  /** A login over the `throttle()` limit. */
  throttled: ErrorFields
  /** A login over `maxConnections`. */
  tooManyConnections: ErrorFields
}

/**
 * One mode of the emulator: how the endpoint it serves as names itself, checks tokens and answers refusals. Each
 * lives in its own files (RDS in `targets/rds-target.ts`, Aurora DSQL in `dsql/`); `startEmulator({ target })`
 * picks one and the sessions ask it.
 */
export interface EmulatorTarget {
  readonly kind: EmulatorTargetKind
  /** The host name served as when `endpoint` is not given. */
  readonly defaultEndpoint: string
  /** The region in an endpoint name of this kind, or undefined. */
  regionOf(endpoint: string): string | undefined
  /** The host tokens must be signed for: `endpoint:port` for RDS, `endpoint` for Aurora DSQL. */
  signedHost(endpoint: string, port: number): string
  readonly tokenRules: TokenRules
  readonly answers: TargetAnswers
  /**
   * Whether every role signs in with a token, as on Aurora DSQL (no passwords), or only the members of `rds_iam`
   * while other users use their password, as on RDS.
   */
  readonly iamOnly: boolean
  /** The default of `maxSessionAgeMs`: Aurora DSQL ends sessions at 60 minutes; undefined for no limit. */
  readonly maxSessionAgeMs: number | undefined
  /** The default of `maxConnections`: Aurora DSQL's 10,000 per cluster; undefined leaves it to the upstream. */
  readonly maxConnections: number | undefined
  /** Creates on the upstream what the server comes with (Aurora DSQL's `admin` role); called once at start. */
  prepareUpstream?(upstream: Upstream): Promise<void>
}
