import type { ConnectionOptions } from 'node:tls'

/** An AWS identity: the access keys that sign a token. */
export interface AwsCredentialIdentity {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** When temporary credentials stop working; a token never outlives them. */
  expiration?: Date
}

/**
 * Any function that resolves an identity, such as the providers of `@aws-sdk/credential-providers`. SDK providers
 * also take `{ forceRefresh: true }`, which core passes when the identity they return is too short-lived to sign.
 */
export type AwsCredentialProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentialIdentity>

/**
 * How the connection is encrypted and verified. There is no mode without TLS: RDS only accepts IAM tokens over
 * TLS, so `false` and `'disable'` (which JavaScript callers and URLs can still pass) throw `ssl-required`.
 * - `verify-full` (default): the certificate chains to a trusted CA and names the token host.
 * - `verify-ca`: the certificate chains to a trusted CA; the host name is not checked.
 * - `require`: encrypted but not verified. A man in the middle can collect the token, so this emits a
 *   `tls-insecure` event.
 */
export type SslMode = 'verify-full' | 'verify-ca' | 'require'

/** TLS options of your own (a `ca`, client certificates) plus an optional `mode`. */
export interface SslOptions extends ConnectionOptions {
  mode?: SslMode
}

/** Tuning of the process-wide token cache. */
export interface TokenCacheOptions {
  /**
   * No caller ever receives a token with less life left than this.
   * @default 60_000
   * @example cache: { minRemainingMs: 120_000 }
   */
  minRemainingMs?: number
  /**
   * A background refresh starts once a cached token has less life left than this, so callers never wait for one.
   * @default 300_000
   * @example cache: { refreshAheadMs: 600_000 }
   */
  refreshAheadMs?: number
  /**
   * The most tokens the process keeps; the least recently used one is dropped beyond it.
   * @default 100
   * @example cache: { maxEntries: 1_000 } // one process signing for many tenants' users
   */
  maxEntries?: number
}

/** Something that tells the time; tests pass a fake one. */
export interface Clock {
  now(): number
}

/**
 * A console-like logger; each event is logged at a level that fits it, as `(message, event)`. pino and bunyan
 * loggers are recognised (by their `bindings()` / `addStream()` methods) and called as `(event, message)`.
 */
export interface IamLogger {
  debug?(message: string, event: IamEvent): void
  info?(message: string, event: IamEvent): void
  warn?(message: string, event: IamEvent): void
  error?(message: string, event: IamEvent): void
}

/**
 * The kind of endpoint a token opens: `rds` for RDS and Aurora instances, clusters and their endpoints, `dsql` for
 * Aurora DSQL clusters.
 */
export type TargetKind = 'rds' | 'dsql' | 'rds-proxy'

/** Identifies a cached token without revealing it. */
export interface TokenKey {
  tokenHost: string
  tokenPort: number
  user: string
  /** What the token is signed for: `connect` (RDS), `DbConnect` or `DbConnectAdmin` (Aurora DSQL). */
  action: string
  /** The `X-Amz-Expires` it asks for: 900 for RDS, `tokenLifetimeSeconds` for Aurora DSQL. */
  lifetimeSeconds: number
  region: string
  accessKeyId: string
}

/** What happened inside the auth layer. Never carries a token or a secret key. */
export type IamEvent =
  | { type: 'token-generated'; key: TokenKey; expiresAt: Date; durationMs: number; background: boolean }
  | { type: 'token-reused'; key: TokenKey; expiresAt: Date }
  | { type: 'token-refresh-failed'; key: TokenKey; expiresAt: Date; error: RdsIamErrorLike }
  | { type: 'token-invalidated'; key: TokenKey }
  | { type: 'auth-retry'; kind: ErrorKind; attempt: number; delayMs: number; hint: string }
  | { type: 'tls-insecure'; host: string; reason: string }

/** The parts of an error an event carries: enough to act on, nothing secret. */
export interface RdsIamErrorLike {
  name: string
  code: string
  message: string
}

/** Why a connection or token attempt failed. */
export type ErrorKind =
  | 'token-rejected'
  | 'tls-required'
  | 'not-iam-user'
  | 'throttled'
  | 'credentials'
  | 'network'
  | 'config'
  | 'unknown'

/** Every `RdsIamError` code: the kinds of failure plus the configuration problems found before connecting. */
export type RdsIamErrorCode = ErrorKind | 'region-missing' | 'ssl-required'

/** What `classifyError` may name in its hint to make it concrete; every field is optional. */
export interface ErrorContext {
  host?: string
  port?: number
  /** The `tokenPort` option as the user set it; undefined when the token follows the dialed port. */
  tokenPort?: number
  /** Local clock minus the server's, where the server's time is known. */
  clockSkewMs?: number
  user?: string
  region?: string
  tokenHost?: string
  profile?: string
  /** The kind of endpoint; when unknown, every target's own answers are recognised. */
  target?: TargetKind
  /** The action the token was signed for (`DbConnect`, `DbConnectAdmin`), so a hint names the IAM action to allow. */
  tokenAction?: string
}

export interface ErrorClassification {
  kind: ErrorKind
  /** Whether `retry()` tries again: once with a new token, or with backoff when throttled. */
  retryable: boolean
  /** What the user should check or change. */
  hint: string
}

/** Retry tuning for `IamAuth.retry`. */
export interface RetryOptions {
  /**
   * The most time a connect may take while the endpoint throttles, attempts and backoff included; then the
   * throttling error is final.
   * @default 10_000
   * @example retry: { maxThrottleMs: 30_000 } // a batch job that would rather wait than fail
   */
  maxThrottleMs?: number
  /**
   * First backoff delay; each next one doubles, with full jitter.
   * @default 100
   * @example retry: { baseDelayMs: 250 }
   */
  baseDelayMs?: number
}

/** Options of `createIamAuth`. Adapters pass the driver's host, port and user plus the user's `iam` block. */
export interface IamAuthOptions {
  /**
   * The host to dial: the RDS endpoint, or a tunnel or alias when `tokenHost` names the endpoint.
   * @example 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com'
   */
  host: string
  /**
   * The port to dial.
   * @default 5432
   * @example 6543
   */
  port?: number
  /**
   * The database user, which must be granted `rds_iam`.
   * @example 'app_user'
   */
  user: string
  /**
   * The database, reported as `db.namespace` on OpenTelemetry spans and metrics; adapters pass the driver's.
   * @example 'app'
   */
  database?: string
  /**
   * AWS region of the database. Default: inferred from the token host, else `AWS_REGION` /
   * `AWS_DEFAULT_REGION`, else the profile's region.
   * @example 'eu-west-1'
   */
  region?: string
  /**
   * A named profile of the shared AWS config files.
   * @example 'prod-readonly'
   */
  profile?: string
  /**
   * Static credentials or a credential provider. Default: the AWS SDK's Node provider chain.
   * @example fromTemporaryCredentials({ params: { RoleArn } })
   */
  credentials?: AwsCredentialIdentity | AwsCredentialProvider
  /**
   * The most time one request for credentials may take (a `credentials` provider, a profile's credential_process
   * or SSO, STS, the container endpoint, the instance metadata service) before the connects waiting for it fail
   * with a `credentials` error naming that source. It bounds the wait also when the driver has no connect timeout;
   * an answer that comes later is still kept for the next connect.
   * @default 5_000
   * @example credentialsTimeoutMs: 15_000 // a credential_process that asks a vault across a slow link
   */
  credentialsTimeoutMs?: number
  /**
   * The RDS endpoint the token is signed for, when `host` is a tunnel or an alias. TLS is verified against it too.
   * @example 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com'
   */
  tokenHost?: string
  /**
   * The RDS endpoint port the token is signed for, when the tunnel listens on another port.
   * @default port
   * @example 5432 // while `port` is the tunnel's local 15432
   */
  tokenPort?: number
  /**
   * The kind of endpoint: found from `tokenHost` (`<cluster>.dsql.<region>.on.aws` is Aurora DSQL, anything else
   * RDS). Set it when the host is an alias, a tunnel or an IP address of an Aurora DSQL cluster.
   * @default inferred from tokenHost
   * @example target: 'dsql' // dialing a tunnel to an Aurora DSQL cluster, with tokenHost its endpoint
   */
  target?: TargetKind
  /**
   * Aurora DSQL only: sign with `DbConnectAdmin` (the built-in `admin` role) rather than `DbConnect`.
   * @default user === 'admin'
   * @example admin: false // a custom role that happens to be called admin
   */
  admin?: boolean
  /**
   * Aurora DSQL only: how long a token is valid (its `X-Amz-Expires`), from 1 to 604800 seconds. RDS tokens
   * always live 900 seconds.
   * @default 900
   * @example tokenLifetimeSeconds: 3_600
   */
  tokenLifetimeSeconds?: number
  /**
   * TLS policy. Default `verify-full` against the Amazon RDS CAs plus Node's roots (Aurora DSQL: Node's roots).
   * @example 'verify-ca'
   * @example { ca: readFileSync('my-ca.pem') }
   */
  ssl?: SslMode | true | SslOptions
  /**
   * Token cache tuning.
   * @example cache: { minRemainingMs: 120_000, refreshAheadMs: 600_000 }
   */
  cache?: TokenCacheOptions
  /**
   * Retry tuning.
   * @example retry: { maxThrottleMs: 30_000 }
   */
  retry?: RetryOptions
  /**
   * Where the cache reads the time; tests pass a fake one to move past a token's expiry.
   * @default Date
   * @example clock: { now: () => Date.now() + skewMs }
   */
  clock?: Clock
  /**
   * Receives every event: tokens made, reused, refreshed, invalidated; retries; insecure TLS.
   * @example onEvent: (e) => metrics.increment(`rds_iam.${e.type}`)
   */
  onEvent?: (event: IamEvent) => void
  /**
   * A console-like logger.
   * @example logger: console
   */
  logger?: IamLogger
}

/** Options of one `IamAuth.getToken` call. */
export interface GetTokenOptions {
  /**
   * The most time to wait for the token, credential provider included; usually the driver's connect timeout.
   * @example auth.getToken({ timeoutMs: 5_000 })
   */
  timeoutMs?: number
}

/** Options of one `IamAuth.retry` run. */
export interface RetryRunOptions {
  /**
   * The most time the whole connect may take, attempts and waits included; the driver's own connect timeout.
   * @example { timeoutMs: 5_000 }
   */
  timeoutMs?: number
}

/** One attempt to open a connection, as `IamAuth.retry` hands it to the driver. */
export interface ConnectAttempt {
  /** The password hook of this attempt's connection: a valid token, remembered so a rejection drops only it. */
  password(): Promise<string>
  /** What is left of `timeoutMs`, for the driver's own timeout of this attempt; undefined without a timeout. */
  remainingMs(): number | undefined
}

/** The auth layer a driver adapter plugs in. */
export interface IamAuth {
  /**
   * A valid token for the next connection: cached, refreshed ahead of expiry, one generation for many callers.
   * With `timeoutMs`, a credential provider that does not answer in time fails it as `credentials`.
   */
  getToken(options?: GetTokenOptions): Promise<string>
  /** Drops the cached token, so the next `getToken()` makes a new one. */
  invalidate(): void
  /**
   * The TLS options for the driver's `ssl`: one secure context built on the first call (loading the CA bundle
   * then, not at import) and reused by every connection, plus the host name check for the token host.
   */
  tls(): Promise<ConnectionOptions>
  /** The resolved TLS mode. */
  readonly sslMode: SslMode
  /**
   * Opens a connection with `connect`, retrying once with a new token when the server rejects one and backing
   * off when throttled. Give each attempt's connection `attempt.password` as its password hook.
   */
  retry<T>(connect: (attempt: ConnectAttempt) => Promise<T>, options?: RetryRunOptions): Promise<T>
  readonly host: string
  readonly port: number
  readonly user: string
  /** Undefined until the first token when the region comes from the profile's config. */
  readonly region: string | undefined
  readonly tokenHost: string
  readonly tokenPort: number
  /** The kind of endpoint, from the `target` option or the token host. */
  readonly target: TargetKind
  /**
   * The age in seconds at which a pool should retire a connection unless the user chose one: 3300 on Aurora DSQL,
   * whose sessions end at 60 minutes; undefined where the server sets no limit. Adapters apply it to their pools.
   */
  readonly poolMaxLifetimeSeconds: number | undefined
}
