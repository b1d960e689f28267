import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { IamAuth } from '@rds-iam/core'

/** Where a libpq tool (psql, pg_dump, Prisma's engine) connects, in libpq's own terms. */
export interface LibpqTarget {
  /** The name the certificate is checked against: the token host. */
  host: string
  /** The address actually dialed, when it differs from `host`: a tunnel or an alias. */
  hostaddr: string | undefined
  port: number
}

/**
 * Through a tunnel or alias libpq must check the certificate against the RDS endpoint while dialing somewhere
 * else; its `hostaddr` is exactly that, but takes only a numeric address, so a name is resolved here.
 */
export async function libpqTarget(auth: IamAuth): Promise<LibpqTarget> {
  if (auth.tokenHost === auth.host) return { host: auth.host, hostaddr: undefined, port: auth.port }
  const hostaddr = isIP(auth.host) ? auth.host : (await lookup(auth.host)).address
  return { host: auth.tokenHost, hostaddr, port: auth.port }
}
