import type { IamEvent } from '@rds-iam/core'
import type { ConnectionFlags } from './connection-flags'
import { type Connection, openConnection } from './open-connection'

/** A token, when it stops working, and the connection it is for. */
export interface IssuedToken {
  connection: Connection
  token: string
  expiresAt: Date
}

export interface IssueOptions {
  /** Core refuses to hand out a token with less life left than this, e.g. when the credentials expire sooner. */
  minRemainingMs?: number
}

/** Signs a token through core; its expiry is core's own, which accounts for credentials that expire first. */
export async function issueToken(flags: ConnectionFlags, options: IssueOptions = {}): Promise<IssuedToken> {
  let expiresAt: Date | undefined
  const onEvent = (event: IamEvent): void => {
    if (event.type === 'token-generated' || event.type === 'token-reused') expiresAt = event.expiresAt
  }
  const cache =
    options.minRemainingMs === undefined ? {} : { cache: { minRemainingMs: options.minRemainingMs } }
  const connection = openConnection(flags, { onEvent, ...cache })
  const token = await connection.auth.getToken()
  if (expiresAt === undefined) throw new Error('core reported no expiry for the token it issued')
  return { connection, token, expiresAt }
}
