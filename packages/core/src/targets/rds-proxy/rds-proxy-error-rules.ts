import type { ErrorContext } from '../../types'
import type { ErrorFacts, TargetErrorRule } from '../target'
import { proxyTlsHint, proxyTokenRejectedHint } from './rds-proxy-hints'

// The proxy's own texts, from the RDS Proxy troubleshooting guide's PostgreSQL table. They are matched by wording
// alone: the guide gives no SQLSTATE, and the ones seen in the wild (28000 for "requires TLS", 0A000 for an
// unsupported option) are not what identifies them.
const says =
  (pattern: RegExp) =>
  (facts: ErrorFacts): boolean =>
    pattern.test(facts.message)

const userOf = (c: ErrorContext): string => c.user ?? '<user>'

const throttledHint = (limit: string) => (): string =>
  `RDS Proxy refused the connection because ${limit}: open fewer connections at once (a smaller pool \`max\`, connections reused rather than opened per request); rds-iam retries with backoff within retry.maxThrottleMs.`

/**
 * RDS Proxy's own failures. The RDS target checks them too: an endpoint reached by a CNAME or an IP address may be
 * a proxy, and these texts say so whatever the name.
 */
export const RDS_PROXY_ERROR_RULES: readonly TargetErrorRule[] = [
  {
    matches: says(/IAM authentication failed for (?:user|the role)\b/i),
    kind: 'token-rejected',
    hint: proxyTokenRejectedHint,
  },
  {
    matches: says(
      /IAM (?:authentication )?is allowed only with SSL connections|RDS Proxy requires TLS connections/i,
    ),
    kind: 'tls-required',
    hint: proxyTlsHint,
  },
  {
    matches: says(/too many competing requests/i),
    kind: 'throttled',
    hint: throttledHint('too many IAM authentications were in flight at once'),
  },
  {
    matches: says(/Rate of connection to proxy exceeded/i),
    kind: 'throttled',
    hint: throttledHint('new connections arrived faster than its connection rate limit'),
  },
  {
    matches: says(/maximum number of client connections to the proxy exceeded/i),
    kind: 'throttled',
    hint: throttledHint('it already holds as many client connections as it allows'),
  },
  {
    matches: says(/Timed-out waiting to acquire database connection/i),
    kind: 'throttled',
    hint: () =>
      "RDS Proxy could not borrow a database connection in time: the database is busy or the proxy's pool is full. Raise MaxConnectionsPercent or ConnectionBorrowTimeout on the proxy's target group, or check the target's health (aws rds describe-db-proxy-targets).",
  },
  {
    matches: says(/has no credentials for the role/i),
    kind: 'config',
    hint: (c) =>
      `RDS Proxy has no Secrets Manager secret for "${userOf(c)}": add a secret with this user's username and password to the proxy's authentication settings, and let the proxy's IAM role read it (secretsmanager:GetSecretValue, and kms:Decrypt for its key).`,
  },
  {
    matches: says(/password that was provided for the role .* is wrong/i),
    kind: 'config',
    hint: (c) =>
      `RDS Proxy checked the token as a password against its Secrets Manager secret for "${userOf(c)}", so IAM authentication is not enabled on the proxy for this user: set IAMAuth to REQUIRED in the proxy's authentication settings.`,
  },
  {
    matches: says(/supports only IAM(?:,)? (?:or )?MD5/i),
    kind: 'config',
    hint: () =>
      "RDS Proxy refused the client's authentication method: enable IAM authentication on the proxy (IAMAuth REQUIRED) so that it asks for the token.",
  },
  {
    matches: says(/RDS Proxy currently doesn't support the option/i),
    kind: 'config',
    hint: (c) =>
      `RDS Proxy refuses startup parameters it does not support, such as the one this error names: remove it from the driver's config (node-postgres' statement_timeout or options, postgres.js' connection, a URL's options=), and set it per role instead (ALTER ROLE "${userOf(c)}" SET ...) or per session with SET, which pins the session to one database connection.`,
  },
  {
    matches: says(/RDS Proxy currently doesn't support streaming replication mode/i),
    kind: 'config',
    hint: () =>
      'RDS Proxy does not serve replication connections: connect to the database endpoint for those.',
  },
  {
    matches: says(/user name is missing from the connection startup packet/i),
    kind: 'config',
    hint: () => 'Set the database user (the `user` option, PGUSER, or the user in the URL).',
  },
]
