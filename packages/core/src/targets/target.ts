import type { ErrorContext, ErrorKind, TargetKind } from '../types'

/**
 * What one token is signed as: the SigV4 presigned GET of `Action` for `service` at `host`, valid for
 * `lifetimeSeconds` (its `X-Amz-Expires`).
 */
export interface TokenKind {
  service: string
  action: string
  /** The user signed into the token as `DBUser`, where the target names it there (RDS); undefined for DSQL. */
  dbUser: string | undefined
  /** The signed host: `host:port` for RDS, the bare host name for Aurora DSQL. */
  host: string
  lifetimeSeconds: number
}

/** The options a target turns into a {@link TokenKind}, as the user gave them. */
export interface TokenKindRequest {
  tokenHost: string
  tokenPort: number
  user: string
  /** `IamAuthOptions.admin`: undefined unless the user set it. */
  admin: boolean | undefined
  /** `IamAuthOptions.tokenLifetimeSeconds`: undefined unless the user set it. */
  lifetimeSeconds: number | undefined
}

/** What classification reads of an error: the SQLSTATE, the message and the server's HINT field. */
export interface ErrorFacts {
  name: string
  code: string
  message: string
  hint: string
}

/** A failure only this target answers with, checked before the rules every target shares. */
export interface TargetErrorRule {
  matches: (facts: ErrorFacts) => boolean
  kind: ErrorKind
  /** Whether `retry()` tries again; by default it follows the kind (token-rejected and throttled do). */
  retryable?: boolean
  hint: (context: ErrorContext) => string
}

/**
 * One kind of endpoint IAM tokens open: RDS and Aurora instances and clusters, Aurora DSQL clusters (RDS Proxy
 * fits the same shape). Core resolves it from the token host, or from the `target` option for aliases and tunnels,
 * and everything that differs between endpoints asks it: the token, the region in the host name, the trusted
 * certificates, the age at which a pool should retire a connection, the server's own error texts and the hints.
 */
export interface Target {
  readonly kind: TargetKind
  /** The service's name as messages say it. */
  readonly name: string
  /** An endpoint name of this kind, for hints that show what one looks like. */
  readonly exampleEndpoint: string
  /** Whether a host name is an endpoint of this kind; how the target is found when the `target` option is unset. */
  isEndpoint(host: string): boolean
  /** The AWS region the endpoint name carries, or undefined for names that carry none. */
  inferRegion(host: string): string | undefined
  /** The token for one user, or a configuration error for options this target does not take. */
  tokenKind(request: TokenKindRequest): TokenKind
  /**
   * The age, in seconds, at which a pool should retire a connection when the user set none: under a server's own
   * maximum session age (Aurora DSQL ends sessions at 60 minutes). Undefined where the server sets no limit.
   */
  readonly poolMaxLifetimeSeconds: number | undefined
  /**
   * The certificates trusted by default: `rds-ca` the Amazon RDS CAs plus Node's roots, `public-roots` Node's
   * roots alone (endpoints with public Amazon certificates, such as Aurora DSQL's, chained to Amazon Root CA 1).
   */
  readonly trust: 'rds-ca' | 'public-roots'
  /** The failures only this target answers with; checked first. */
  readonly errorRules: readonly TargetErrorRule[]
  /** This target's hints for the failures every target shares (a rejected token, TLS, throttling, certificates). */
  readonly hints: Partial<Record<ErrorKind, (context: ErrorContext) => string>>
}
