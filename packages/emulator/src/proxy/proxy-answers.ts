import type { ErrorFields } from '../backend-messages.js'

// RDS Proxy's own answers to PostgreSQL clients, worded as the RDS Proxy troubleshooting guide's PostgreSQL table
// gives them. The proxy is not PostgreSQL, so none carries a source location. The guide gives no SQLSTATE: 28000
// for "requires TLS" and 0A000 for an unsupported option are seen in the wild (a CloudWatch log, asyncpg's
// InvalidAuthorizationSpecificationError and FeatureNotSupportedError); the others are the PostgreSQL class each
// text belongs to, inferred, and rds-iam classifies all of them by their wording, not their code.
const fatal = (code: string, message: string): ErrorFields => ({ severity: 'FATAL', code, message })

/** The proxy has Require TLS on and the client did not negotiate TLS. SQLSTATE observed. */
export const proxyRequiresTls: ErrorFields = fatal('28000', 'This RDS Proxy requires TLS connections.')

/** An IAM login without TLS at a proxy without Require TLS. SQLSTATE inferred. */
export const iamOnlyWithSsl: ErrorFields = fatal(
  '28000',
  'IAM authentication is allowed only with SSL connections.',
)

/** How the proxy words a rejected token: the older text names the user, the newer one the role. */
export type TokenRejectionWording = 'role' | 'user'

/** A token the proxy refuses, for any reason (expired, signature, host, policy). SQLSTATE inferred (28P01). */
export const proxyTokenRejected = (user: string, wording: TokenRejectionWording): ErrorFields =>
  wording === 'user'
    ? fatal(
        '28P01',
        `IAM authentication failed for user ${user}. Check the IAM token for this user and try again.`,
      )
    : fatal(
        '28P01',
        `The IAM authentication failed for the role ${user}. Check the IAM token for this role and try again.`,
      )

/** More IAM authentications in flight than the proxy allows. SQLSTATE inferred. */
export const competingRequests: ErrorFields = fatal(
  '53300',
  'The IAM authentication failed because of too many competing requests.',
)

/** New connections faster than the proxy's rate limit. SQLSTATE inferred. */
export const connectRateExceeded = (limit: number): ErrorFields =>
  fatal('53300', `Rate of connection to proxy exceeded ${limit}.`)

/** More client connections than the proxy allows. SQLSTATE inferred (too_many_connections). */
export const clientConnectionsExceeded = (limit: number): ErrorFields =>
  fatal('53300', `The maximum number of client connections to the proxy exceeded ${limit}.`)

/** A user the proxy has no Secrets Manager secret for. SQLSTATE inferred. */
export const noCredentialsForRole = (user: string): ErrorFields =>
  fatal(
    '28000',
    `This RDS proxy has no credentials for the role ${user}. Check the credentials for this role and try again.`,
  )

/** A startup parameter the proxy does not pass on. SQLSTATE observed. */
export const unsupportedOption = (name: string): ErrorFields =>
  fatal('0A000', `Feature not supported: RDS Proxy currently doesn't support the option ${name}.`)

/** A replication connection (`replication` in the startup message). SQLSTATE inferred from the wording. */
export const noStreamingReplication: ErrorFields = fatal(
  '0A000',
  "Feature not supported: RDS Proxy currently doesn't support streaming replication mode.",
)

/** A startup message without a user. SQLSTATE inferred. */
export const userNameMissing: ErrorFields = fatal(
  '28000',
  'A user name is missing from the connection startup packet. Provide a user name for this connection.',
)
