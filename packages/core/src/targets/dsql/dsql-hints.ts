import { isIP } from 'node:net'
import type { ErrorContext } from '../../types'
import { DSQL_EXAMPLE_ENDPOINT, inferDsqlRegion } from './dsql-endpoint'
import { DSQL_ADMIN_ROLE } from './dsql-token'

// SigV4 leaves a few minutes of slack; a minute of skew is already worth naming next to other causes.
const NOTABLE_SKEW_MS = 60_000

function isAdmin(c: ErrorContext): boolean {
  return c.tokenAction === undefined ? c.user === DSQL_ADMIN_ROLE : c.tokenAction === 'DbConnectAdmin'
}

/** The IAM action the token asked for, as a policy names it. */
export function dsqlPolicyAction(c: ErrorContext): string {
  return isAdmin(c) ? 'dsql:DbConnectAdmin' : 'dsql:DbConnect'
}

function clusterArn(c: ErrorContext): string {
  return `arn:aws:dsql:${c.region ?? '<region>'}:<account>:cluster/<cluster-id>`
}

// What the options show that DSQL would refuse, each one named before the general checklist.
function mismatches(c: ErrorContext): string[] {
  const tokenHost = c.tokenHost ?? c.host
  const found: string[] = []
  const hostRegion = tokenHost === undefined ? undefined : inferDsqlRegion(tokenHost)
  if (c.region !== undefined && hostRegion !== undefined && hostRegion !== c.region) {
    found.push(
      `The token was signed for region ${c.region}, but ${tokenHost} is in ${hostRegion}: remove the \`region\` option (or AWS_REGION) or set it to '${hostRegion}'.`,
    )
  }
  const name = tokenHost?.toLowerCase()
  if (name !== undefined && (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost'))) {
    found.push(
      `The token was signed for ${tokenHost}, but Aurora DSQL only accepts tokens signed for its cluster endpoint: set \`tokenHost\` to it (e.g. '${DSQL_EXAMPLE_ENDPOINT}') when dialing a tunnel or an IP address.`,
    )
  }
  if (c.clockSkewMs !== undefined && Math.abs(c.clockSkewMs) >= NOTABLE_SKEW_MS) {
    found.push(
      'The local clock is off by more than a minute, and Aurora DSQL checks the signing time of the token: synchronise the clock (NTP).',
    )
  }
  return found
}

/**
 * The hint for Aurora DSQL's "unable to accept connection, access denied": the mismatches the options show first,
 * then what else DSQL refuses a token for.
 */
export function dsqlAccessDeniedHint(c: ErrorContext): string {
  const role = c.user ?? '<role>'
  const mapping = isAdmin(c)
    ? ''
    : ` that the role is mapped to that identity (as admin: AWS IAM GRANT "${role}" TO '<IAM role or user ARN>'),`
  const checklist = `Check that the IAM identity's policy allows ${dsqlPolicyAction(c)} on ${clusterArn(c)},${mapping} that the region matches the cluster's, that the credentials that signed it had not expired, and that the system clock is right.`
  const found = mismatches(c)
  return found.length === 0 ? checklist : `${found.join(' ')} If that is not it: ${checklist}`
}

/** The hint for "not authorized to perform": the IAM policy, not the token, is what refuses. */
export function dsqlPolicyDeniedHint(c: ErrorContext): string {
  return `The IAM identity may not connect: allow ${dsqlPolicyAction(c)} on ${clusterArn(c)} in its IAM policy (admin needs dsql:DbConnectAdmin, every other role dsql:DbConnect). A new token will not help until the policy changes.`
}

/** The hint for "Wrong user to action mapping": the admin role and the other roles take different tokens. */
export function dsqlWrongActionHint(c: ErrorContext): string {
  return `The token's action does not fit role "${c.user ?? '<role>'}": Aurora DSQL takes DbConnectAdmin for the admin role only and DbConnect for every other role. Leave \`iam.admin\` out (rds-iam then picks by role name), or set it only when connecting as admin.`
}

export function dsqlRateHint(): string {
  return 'Aurora DSQL opens at most 100 new connections a second per cluster (bursts up to 1,000) and refuses the rest: rds-iam backs off with jitter, but reuse connections through a pool and open fewer at once (a smaller pool `min`, staggered starts).'
}

export function dsqlTooManyConnectionsHint(): string {
  return "The cluster has its 10,000 open connections: lower the pools' `max`, close idle connections sooner, or ask AWS for a higher quota."
}

export function dsqlWakingUpHint(): string {
  return 'The Aurora DSQL cluster is inactive and waking up: rds-iam retries with backoff; if it lasts, check the cluster status with `aws dsql get-cluster`.'
}

export function dsqlTlsHint(): string {
  return 'Aurora DSQL accepts connections only over TLS: give the driver the TLS options of IamAuth.tls(), never ssl: false, and make sure a tunnel forwards TLS to the cluster.'
}

export function dsqlSniHint(c: ErrorContext): string {
  return `Aurora DSQL needs the cluster endpoint as the TLS server name (SNI): rds-iam sends \`tokenHost\` (now ${c.tokenHost ?? 'the dialed host'}), so set it to the cluster endpoint when dialing an IP address or a tunnel. psql before version 14 cannot send it.`
}

export function dsqlCertificateHint(c: ErrorContext): string {
  return `The server certificate did not verify: Aurora DSQL's certificates chain to Amazon Root CA 1, which Node trusts by default. When dialing a tunnel or alias set \`tokenHost\` to the cluster endpoint the certificate names (now ${c.tokenHost ?? 'the dialed host'}); pass \`ssl.ca\` only for a CA of your own.`
}
