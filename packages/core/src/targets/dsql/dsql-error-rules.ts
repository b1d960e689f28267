import type { ErrorFacts, TargetErrorRule } from '../target'
import {
  dsqlAccessDeniedHint,
  dsqlPolicyDeniedHint,
  dsqlRateHint,
  dsqlSniHint,
  dsqlTlsHint,
  dsqlTooManyConnectionsHint,
  dsqlWakingUpHint,
  dsqlWrongActionHint,
} from './dsql-hints'

// Aurora DSQL refuses a connection with FATAL "unable to accept connection, <why>". The SQLSTATE of the refusals
// of a token is not documented; what public reports show is 08006 with the reason in the HINT field ("Signature
// expired: ...", "Wrong user to action mapping. ...", "User: ... is not authorized to perform: dsql:..."), so the
// rules read the message and the hint, never the code alone.
const refusal =
  (why: RegExp) =>
  (facts: ErrorFacts): boolean =>
    /unable to accept connection/i.test(facts.message) && why.test(facts.message)

const isAccessDenied = refusal(/access denied/i)

/** Aurora DSQL's answers, most specific first. */
export const DSQL_ERROR_RULES: readonly TargetErrorRule[] = [
  {
    // Documented: a token of the other action for the role (admin with DbConnect, a role with DbConnectAdmin).
    matches: (f) => isAccessDenied(f) && /Wrong user to action mapping/i.test(f.hint),
    kind: 'config',
    hint: dsqlWrongActionHint,
  },
  {
    // The policy refuses whatever token is sent: a new one cannot help.
    matches: (f) => isAccessDenied(f) && /not authorized to (perform|access)/i.test(f.hint),
    kind: 'token-rejected',
    retryable: false,
    hint: dsqlPolicyDeniedHint,
  },
  {
    // An expired or badly signed token (a fresh one helps), or a refusal whose reason DSQL does not give. The
    // documented "IAM authentication failed for user" means the same.
    matches: (f) => isAccessDenied(f) || /IAM authentication failed for user/i.test(f.message),
    kind: 'token-rejected',
    hint: dsqlAccessDeniedHint,
  },
  // Documented with their SQLSTATEs in DSQL's quotas: 53400 for the connection rate, 53300 for the open count.
  { matches: refusal(/rate exceeded/i), kind: 'throttled', hint: dsqlRateHint },
  { matches: refusal(/too many open connections/i), kind: 'throttled', hint: dsqlTooManyConnectionsHint },
  { matches: refusal(/waking up cluster/i), kind: 'throttled', hint: dsqlWakingUpHint },
  { matches: refusal(/sni was not received/i), kind: 'config', hint: dsqlSniHint },
  // DSQL documents that it rejects connections without TLS, not the words it uses: any refusal naming SSL or TLS.
  { matches: refusal(/\b(ssl|tls)\b/i), kind: 'tls-required', hint: dsqlTlsHint },
]
