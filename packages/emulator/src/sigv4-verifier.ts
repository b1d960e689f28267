import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { signedHostCandidates } from './signed-host.js'

/**
 * The longest token accepted, in bytes: what fits in PostgreSQL's longest PasswordMessage (65535 bytes with its
 * length word and the token's NUL), so the longest RDS can receive.
 */
export const MAX_TOKEN_BYTES = 65_530

/**
 * A presigned request as a token carries it: `host:port/?query` or `host:port?query` (RDS), `host/?query` (Aurora
 * DSQL), no scheme.
 */
export interface PresignedRequest {
  /** `host:port` or `host` as written in the token; the signed `host` header is one of its {@link signedHostCandidates}. */
  host: string
  /** Decoded query parameters; a name appears at most once. */
  params: ReadonlyMap<string, string>
}

const EMPTY_PAYLOAD_HASH = createHash('sha256').update('').digest('hex')

/**
 * Splits a token into its host and decoded query parameters, in whatever order they were written. Returns
 * `undefined` for anything that is not a presigned URL: too long, no `?`, a path other than `/`, a repeated
 * parameter or a bad percent escape.
 */
export function parsePresignedRequest(token: string, requirePort = true): PresignedRequest | undefined {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) return undefined
  const queryStart = token.indexOf('?')
  if (queryStart < 0) return undefined
  const host = token.slice(0, queryStart).replace(/\/$/, '')
  if (!(requirePort ? /^[^\s/?#]+:\d+$/ : /^[^\s/?#:]+(?::\d+)?$/).test(host)) return undefined
  const params = new Map<string, string>()
  for (const pair of token.slice(queryStart + 1).split('&')) {
    const equals = pair.indexOf('=')
    const [rawName, rawValue] = equals < 0 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)]
    let name: string
    let value: string
    try {
      name = decodeURIComponent(rawName)
      value = decodeURIComponent(rawValue)
    } catch {
      return undefined
    }
    if (name === '' || params.has(name)) return undefined
    params.set(name, value)
  }
  return { host, params }
}

/** Percent-encodes as SigV4 requires (RFC 3986 unreserved characters stay as they are). */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

function canonicalQuery(params: ReadonlyMap<string, string>): string {
  return [...params]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? compareCodeUnits(av, bv) : compareCodeUnits(a, b)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

// SigV4 sorts by byte value, not by locale.
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/**
 * Computes the SigV4 signature (lowercase hex) of a presigned GET request for the `host` header value
 * `signedHost`, taking the date and credential scope from its own `X-Amz-Date` and `X-Amz-Credential`
 * parameters. Returns `undefined` when those are missing.
 */
export function computeSignature(
  request: PresignedRequest,
  secretAccessKey: string,
  signedHost: string = request.host,
): string | undefined {
  const amzDate = request.params.get('X-Amz-Date')
  const credential = request.params.get('X-Amz-Credential')
  if (amzDate === undefined || credential === undefined) return undefined
  // The scope is everything after the access key id: <yyyymmdd>/<region>/<service>/aws4_request.
  const scopeParts = credential.split('/').slice(1)
  const [date, region, service, terminator] = scopeParts
  if (scopeParts.length !== 4 || !date || !region || !service || !terminator) return undefined
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery(request.params),
    `host:${signedHost}`,
    '',
    'host',
    EMPTY_PAYLOAD_HASH,
  ].join('\n')
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scopeParts.join('/'),
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n')
  let key = hmac(`AWS4${secretAccessKey}`, date)
  for (const part of [region, service, terminator]) key = hmac(key, part)
  return hmac(key, stringToSign).toString('hex')
}

/** Compares two secrets in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * True when the request's `X-Amz-Signature` is the one `secretAccessKey` makes for it, with its host signed
 * the way any official signer signs it.
 */
export function verifySignature(request: PresignedRequest, secretAccessKey: string): boolean {
  const given = request.params.get('X-Amz-Signature')
  if (given === undefined) return false
  return signedHostCandidates(request.host).some((signedHost) => {
    const expected = computeSignature(request, secretAccessKey, signedHost)
    return expected !== undefined && constantTimeEqual(expected, given)
  })
}
