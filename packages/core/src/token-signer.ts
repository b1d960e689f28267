import { createHash, createHmac } from 'node:crypto'
import { credentialsEnd } from './credentials'
import type { TokenKind } from './targets/target'
import type { AwsCredentialIdentity } from './types'

export interface SignRequest {
  /** What the token is signed as, which the target decides: service, action, host, user, lifetime. */
  kind: TokenKind
  region: string
  identity: AwsCredentialIdentity
  // By the caller's clock, which tests replace; the signature itself carries the system time, as servers check it.
  signedAt: number
}

export interface SignedToken {
  token: string
  // The end of its lifetime, or of the credentials that signed it if they end sooner.
  expiresAt: number
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
// A presigned GET has no body; SigV4 signs the SHA-256 of the empty string for it.
const EMPTY_BODY_SHA256 = createHash('sha256').update('').digest('hex')

/**
 * An IAM token: the SigV4 presigned URL that `@aws-sdk/rds-signer` (`rds-db:connect` for `host:port` and a user)
 * or `@aws-sdk/dsql-signer` (`dsql:DbConnect` / `DbConnectAdmin` for the bare host) makes, byte for byte (tests
 * compare them). Signed here rather than by those packages because loading one costs a process 35-50 ms of CPU at
 * its first connect, where signing is four HMACs; the SDK is still what finds the credentials.
 */
export function signToken(request: SignRequest, now: Date = new Date()): SignedToken {
  const { kind, region, identity, signedAt } = request
  const { service, host } = kind
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '')
  const day = amzDate.slice(0, 8)
  const scope = `${day}/${region}/${service}/aws4_request`
  // In SigV4's order (by name), which is also the order the SDK writes them in.
  const signed = [
    `Action=${kind.action}`,
    ...(kind.dbUser === undefined ? [] : [`DBUser=${encode(kind.dbUser)}`]),
    `X-Amz-Algorithm=${ALGORITHM}`,
    `X-Amz-Credential=${encode(`${identity.accessKeyId}/${scope}`)}`,
    `X-Amz-Date=${amzDate}`,
    `X-Amz-Expires=${kind.lifetimeSeconds}`,
    ...(identity.sessionToken ? [`X-Amz-Security-Token=${encode(identity.sessionToken)}`] : []),
  ]
  const query = [...signed, 'X-Amz-SignedHeaders=host'].join('&')
  const canonicalRequest = `GET\n/\n${query}\nhost:${host}\n\nhost\n${EMPTY_BODY_SHA256}`
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`
  let key: string | Buffer = `AWS4${identity.secretAccessKey}`
  for (const part of [day, region, service, 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest()
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex')
  return {
    token: `${host}/?${[...signed, `X-Amz-Signature=${signature}`, 'X-Amz-SignedHeaders=host'].join('&')}`,
    expiresAt: Math.min(signedAt + kind.lifetimeSeconds * 1000, credentialsEnd(identity)),
  }
}

// SigV4's percent-encoding: RFC 3986, where only letters, digits and -._~ stay as they are.
function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}
