import type { ErrorFields } from '../backend-messages.js'
import type { Refusal, TargetAnswers } from '../targets/emulator-target.js'
import { DSQL_ADMIN_ROLE } from './dsql-token-rules.js'

// Aurora DSQL refuses a connection with "unable to accept connection, <why>". The quotas page documents the two
// limits with their SQLSTATEs; the access-denied refusal's SQLSTATE (08006) and its HINTs come from public
// reports of real clusters (its documentation names none); its answer to a connection without TLS is not
// documented at all, so that one follows the family's wording and is the emulator's own.
const refusal = (code: string, message: string, hint?: string): ErrorFields => ({
  severity: 'FATAL',
  code,
  message,
  ...(hint === undefined ? {} : { hint }),
})

const ACCESS_DENIED = 'unable to accept connection, access denied'

// The principal a key stands for in DSQL's hint; the emulator knows keys, not the IAM users behind them.
const principalOf = (accessKeyId: string | undefined): string =>
  `arn:aws:iam::000000000000:user/${accessKeyId ?? 'unknown'}`

const neededAction = (user: string): string => (user === DSQL_ADMIN_ROLE ? 'DbConnectAdmin' : 'DbConnect')

function accessDeniedHint(user: string, rejection: Refusal & { accessKeyId?: string }): string | undefined {
  switch (rejection.reason) {
    case 'expired':
      return `Signature expired: ${rejection.detail}`
    case 'session-expired':
      return 'The security token included in the request is expired'
    case 'action-mismatch':
      // Only DbConnect and DbConnectAdmin get this far, so the token has the other one.
      return `Wrong user to action mapping. user: ${user}, action: ${neededAction(user) === 'DbConnect' ? 'DbConnectAdmin' : 'DbConnect'}`
    case 'policy':
      return `User: ${principalOf(rejection.accessKeyId)} is not authorized to perform: dsql:${neededAction(user)}`
    default:
      return undefined
  }
}

/** What Aurora DSQL answers to each refusal. */
export const DSQL_ANSWERS: TargetAnswers = {
  tokenRejected: (user, rejection) => refusal('08006', ACCESS_DENIED, accessDeniedHint(user.text, rejection)),
  noEncryption: () => refusal('08006', 'unable to accept connection, ssl is required'),
  throttled: refusal('53400', 'Unable to accept connection, rate exceeded.'),
  tooManyConnections: refusal('53300', 'Unable to accept connection, too many open connections.'),
}
