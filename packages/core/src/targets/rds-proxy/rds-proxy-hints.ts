import { tokenRejectedHint } from '../../token-rejected-hint'
import type { ErrorContext } from '../../types'

const userOf = (c: ErrorContext): string => c.user ?? '<user>'

// A proxy checks the token against its own resource (`prx-...`) and, in the classic setup, opens the database
// with a Secrets Manager secret: the policy and the proxy's settings are what to check, not the database's.
function proxyTokenChecklist(c: ErrorContext): string {
  return `Check that IAM authentication is enabled on the proxy (IAMAuth REQUIRED in its authentication settings for "${userOf(c)}"), that the IAM identity may rds-db:connect on arn:aws:rds-db:${c.region ?? '<region>'}:<account>:dbuser:prx-<proxy resource id>/${userOf(c)} (the prx-... id at the end of the proxy's ARN, not the database's resource id), that the token is signed for the proxy endpoint (${c.tokenHost ?? c.host ?? 'tokenHost'}) in its region, and that the system clock is right.`
}

/** A token the proxy refused: what the options show first (region, tunnel, clock), then the proxy's checklist. */
export function proxyTokenRejectedHint(c: ErrorContext): string {
  return tokenRejectedHint(c, proxyTokenChecklist)
}

/**
 * A proxy certificate that did not verify. RDS Proxy presents AWS Certificate Manager certificates, which chain to
 * the Amazon Root CAs rather than the RDS CA: pinning the RDS bundle as `ssl.ca` (which replaces the default list)
 * is the usual way to break it.
 */
export function proxyCertificateHint(c: ErrorContext): string {
  return `The certificate of RDS Proxy ${c.tokenHost ?? c.host ?? ''} did not verify: the proxy presents an AWS Certificate Manager certificate that chains to the Amazon Root CAs (Amazon Root CA 1-4), not to the Amazon RDS CA. Leave \`ssl.ca\` unset (the default trusts Node's own store, which holds them), or add the Amazon Root CAs to it if you pin the RDS CA bundle; when dialing a tunnel, set \`tokenHost\` to the proxy endpoint the certificate names.`
}

/** A connection the proxy dropped or timed out while it signed in. */
export function proxyThrottledHint(): string {
  return 'RDS Proxy dropped or delayed the sign-in: open fewer connections at once (a smaller pool `max`, connections reused rather than opened per request); rds-iam retries with backoff within retry.maxThrottleMs.'
}

/** A proxy refusing a connection without TLS. */
export function proxyTlsHint(): string {
  return 'RDS Proxy accepts IAM tokens only over TLS (and with Require TLS on, every connection): give the driver the TLS options of IamAuth.tls(), never ssl: false, and make sure a tunnel forwards TLS to the proxy.'
}
