import { createHash, createHmac } from 'node:crypto'
import { credentialsEnd } from './credentials'
import type { AwsCredentialIdentity } from './types'

// RDS accepts a token for 15 minutes after it was signed.
export const TOKEN_LIFETIME_MS = 900_000

export interface SignRequest {
  hostname: string
  port: number
  username: string
  region: string
  identity: AwsCredentialIdentity
  // By the caller's clock, which tests replace; the signature itself carries the system time, as RDS checks it.
  signedAt: number
}

export interface SignedToken {
  token: string
  // The end of its 15 minutes, or of the credentials that signed it if they end sooner.
  expiresAt: number
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
const SERVICE = 'rds-db'
// A presigned GET has no body; SigV4 signs the SHA-256 of the empty string for it.
const EMPTY_BODY_SHA256 = createHash('sha256').update('').digest('hex')

/**
 * An RDS IAM token: the SigV4 presigned URL of `rds-db:connect` that `@aws-sdk/rds-signer` makes, byte for byte
 * (a test compares the two). Signed here rather than by that package because loading it costs a process 35-50 ms
 * of CPU at its first connect, where signing is four HMACs; the SDK is still what finds the credentials.
 */
export function signToken(request: SignRequest, now: Date = new Date()): SignedToken {
  const { hostname, port, username, region, identity, signedAt } = request
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '')
  const day = amzDate.slice(0, 8)
  const scope = `${day}/${region}/${SERVICE}/aws4_request`
  const host = `${hostname}:${port}`
  // In SigV4's order (by name), which is also the order the SDK writes them in.
  const signed = [
    `Action=connect`,
    `DBUser=${encode(username)}`,
    `X-Amz-Algorithm=${ALGORITHM}`,
    `X-Amz-Credential=${encode(`${identity.accessKeyId}/${scope}`)}`,
    `X-Amz-Date=${amzDate}`,
    `X-Amz-Expires=${TOKEN_LIFETIME_MS / 1000}`,
    ...(identity.sessionToken ? [`X-Amz-Security-Token=${encode(identity.sessionToken)}`] : []),
  ]
  const query = [...signed, 'X-Amz-SignedHeaders=host'].join('&')
  const canonicalRequest = `GET\n/\n${query}\nhost:${host}\n\nhost\n${EMPTY_BODY_SHA256}`
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`
  let key: string | Buffer = `AWS4${identity.secretAccessKey}`
  for (const part of [day, region, SERVICE, 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest()
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex')
  return {
    token: `${host}/?${[...signed, `X-Amz-Signature=${signature}`, 'X-Amz-SignedHeaders=host'].join('&')}`,
    expiresAt: Math.min(signedAt + TOKEN_LIFETIME_MS, credentialsEnd(identity)),
  }
}

// SigV4's percent-encoding: RFC 3986, where only letters, digits and -._~ stay as they are.
function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}
