import type { ErrorFields } from '../backend-messages.js'
import type { KeyPairCertificate, ServerCertificates } from '../certificates.js'
import type { RejectReason } from '../events.js'
import type { HbaRefusal } from '../postgres-errors.js'
import type { PostgresName } from '../postgres-name.js'
import type { ProxyControls } from '../proxy/proxy-mode.js'
import type { TokenRules } from '../token-validator.js'
import type { Upstream } from '../upstream.js'

/** The kinds of endpoint the emulator can serve as. */
export type EmulatorTargetKind = 'rds' | 'dsql' | 'rds-proxy'

/** A refused login as the answer to it sees it: why, and the text the emulator's own logs give. */
export interface Refusal {
  reason: RejectReason
  detail: string
  accessKeyId?: string
}

/** A refusal a target makes before it asks for a token, with the answer it sends. */
export interface LoginRefusal extends Refusal {
  fields: ErrorFields
}

/** What a target's server sends for each refusal the emulator answers itself. */
export interface TargetAnswers {
  /**
   * A startup message refused before its user is looked at (RDS Proxy: its connection limits and the startup
   * parameters it does not take), or undefined to go on. `openConnections` counts this one too.
   */
  refuseStartup?(settings: ReadonlyMap<string, Buffer>, openConnections: number): LoginRefusal | undefined
  /** A startup message without a user; PostgreSQL's own answer when left out. */
  noUser?: ErrorFields
  /** A user that is not an IAM user, or undefined (the default) to hand it to the upstream's password check. */
  refusePasswordUser?(user: string): LoginRefusal | undefined
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
  /**
   * The certificate chain it presents, where it is not one certificate from a private CA (RDS Proxy: a leaf and an
   * intermediate under a stand-in for Amazon Root CA 1, shared when `root` is given).
   */
  issueCertificates?(
    hosts: string[],
    root: KeyPairCertificate | undefined,
  ): Promise<ServerCertificates & { root: KeyPairCertificate }>
  /** Answers and controls of one emulator, for a target whose answers depend on its settings and change at run time. */
  instantiate?(settings: TargetSettings): TargetInstance
}

/** What an emulator's options say about the server it emulates. */
export interface TargetSettings {
  forceSsl: boolean
  maxConnections: number | undefined
}

/** One emulator's answers, and the controls a target adds to the common ones (RDS Proxy's limits). */
export interface TargetInstance {
  answers: TargetAnswers
  controls: ProxyControls
}
