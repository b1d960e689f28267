import { isIP } from 'node:net'
import { EXAMPLE_ENDPOINT, inferRegion } from './region'
import type { ErrorContext } from './types'

// The port RDS and Aurora PostgreSQL listen on unless the instance was created with another.
const RDS_DEFAULT_PORT = 5432
// SigV4 leaves a few minutes of slack; a minute of skew is already worth naming next to other causes.
const NOTABLE_SKEW_MS = 60_000

// Tunnels (ssh -L, SSM port forwarding, kubectl port-forward) listen on a loopback name or address, and an IP
// address is never the name RDS checks a token against.
function isTunnelOrAddress(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')
}

// The token must be signed for the endpoint name; signing for the dialed address is the usual tunnel mistake.
function tokenHostMismatch(c: ErrorContext): string | undefined {
  const tokenHost = c.tokenHost ?? c.host
  if (tokenHost === undefined || !isTunnelOrAddress(tokenHost)) return undefined
  return `The token was signed for ${tokenHost}, but RDS only accepts tokens signed for its endpoint name: set \`tokenHost\` to the RDS endpoint (e.g. '${EXAMPLE_ENDPOINT}') when dialing a tunnel, an alias or an IP address.`
}

// A tunnel's local port is rarely the endpoint's: left alone, tokenPort follows the dialed port. A tokenPort the
// user set, even to the dialed port (a tunnel that keeps the port, a local emulator), is taken as meant.
function tokenPortMismatch(c: ErrorContext): string | undefined {
  const { host, port, tokenHost, tokenPort } = c
  if (host === undefined || !isTunnelOrAddress(host) || tokenHost === undefined || tokenHost === host) {
    return undefined
  }
  if (port === undefined || tokenPort !== undefined || port === RDS_DEFAULT_PORT) return undefined
  return `The token was signed for port ${port}, the port dialed on ${host}; if ${tokenHost} listens on ${RDS_DEFAULT_PORT}, set \`tokenPort: ${RDS_DEFAULT_PORT}\`.`
}

// A token signed for another region than the endpoint's is refused.
function regionMismatch(c: ErrorContext): string | undefined {
  const tokenHost = c.tokenHost ?? c.host
  const hostRegion = tokenHost === undefined ? undefined : inferRegion(tokenHost)
  if (c.region === undefined || hostRegion === undefined || hostRegion === c.region) return undefined
  return `The token was signed for region ${c.region}, but ${tokenHost} is in ${hostRegion}: remove the \`region\` option (or AWS_REGION) or set it to '${hostRegion}'.`
}

// RDS compares the token's signing time with its own clock.
function clockSkew(c: ErrorContext): string | undefined {
  if (c.clockSkewMs === undefined || Math.abs(c.clockSkewMs) < NOTABLE_SKEW_MS) return undefined
  const minutes = Math.round(Math.abs(c.clockSkewMs) / 6_000) / 10
  const direction = c.clockSkewMs > 0 ? 'ahead of' : 'behind'
  return `The local clock is ${minutes} minutes ${direction} the server's, and RDS checks the token's signing time: synchronise the clock (NTP), or fix the \`clock\` option.`
}

const MISMATCHES = [regionMismatch, tokenHostMismatch, tokenPortMismatch, clockSkew]

function checklist(c: ErrorContext): string {
  const user = c.user ?? '<user>'
  return `Check that the database user is granted rds_iam (GRANT rds_iam TO "${user}"), that the IAM identity may rds-db:connect on arn:aws:rds-db:${c.region ?? '<region>'}:<account>:dbuser:<DbiResourceId or cluster-resource-id>/${user}, that the region and token host (${c.tokenHost ?? 'tokenHost'}) match the RDS endpoint when dialing a tunnel or alias, and that the system clock is right.`
}

/**
 * The hint for a token the server rejected: the mismatches the options show (region against the endpoint name,
 * a tunnel signed for its own address or port, a skewed clock) first, then the endpoint's checklist (RDS's by
 * default; RDS Proxy passes its own).
 * @example tokenRejectedHint({ host: '127.0.0.1', port: 15432, tokenHost: 'db.abc.eu-west-1.rds.amazonaws.com' })
 */
export function tokenRejectedHint(
  context: ErrorContext,
  endpointChecklist: (context: ErrorContext) => string = checklist,
): string {
  const found = MISMATCHES.map((mismatch) => mismatch(context)).filter((text) => text !== undefined)
  if (found.length === 0) return endpointChecklist(context)
  return `${found.join(' ')} If that is not it: ${endpointChecklist(context)}`
}
