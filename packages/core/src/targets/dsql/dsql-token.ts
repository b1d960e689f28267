import { configError } from '../../errors'
import type { TokenKind, TokenKindRequest } from '../target'

/** The role every Aurora DSQL cluster is created with; it signs in with `DbConnectAdmin`. */
export const DSQL_ADMIN_ROLE = 'admin'
// What the AWS SDK and CLI ask for when told nothing (the console asks for an hour).
const DEFAULT_LIFETIME_SECONDS = 900
// SigV4's limit for a presigned URL, which @smithy/signature-v4 refuses to exceed and DSQL documents as its own.
export const DSQL_MAX_LIFETIME_SECONDS = 604_800

/**
 * The token of `@aws-sdk/dsql-signer`: service `dsql`, action `DbConnectAdmin` for the admin role and `DbConnect`
 * for every other, signed for the bare host name (no port, no user: DSQL maps roles to IAM principals itself).
 */
export function dsqlTokenKind({ tokenHost, user, admin, lifetimeSeconds }: TokenKindRequest): TokenKind {
  if (admin !== undefined && typeof admin !== 'boolean') {
    throw configError(
      '`admin` must be true or false.',
      'Leave it out to sign as admin exactly for the admin role.',
    )
  }
  return {
    service: 'dsql',
    action: (admin ?? user === DSQL_ADMIN_ROLE) ? 'DbConnectAdmin' : 'DbConnect',
    dbUser: undefined,
    host: tokenHost,
    lifetimeSeconds: checkLifetime(lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS),
  }
}

function checkLifetime(seconds: unknown): number {
  if (
    Number.isInteger(seconds) &&
    (seconds as number) >= 1 &&
    (seconds as number) <= DSQL_MAX_LIFETIME_SECONDS
  ) {
    return seconds as number
  }
  throw configError(
    `\`tokenLifetimeSeconds\` must be a whole number of seconds from 1 to ${DSQL_MAX_LIFETIME_SECONDS} (7 days), the most Aurora DSQL and SigV4 allow.`,
    `Use e.g. ${DEFAULT_LIFETIME_SECONDS} (the default), or leave it out.`,
  )
}
