import { Signer } from '@aws-sdk/rds-signer'
import { describe, expect, it } from 'vitest'
import {
  computeSignature,
  MAX_TOKEN_BYTES,
  parsePresignedRequest,
  verifySignature,
} from './sigv4-verifier.js'

const credentials = {
  accessKeyId: 'AKIAEMULATORTEST0001',
  secretAccessKey: 'dGVzdCBzZWNyZXQga2V5IGZvciB0aGUgZW11bGF0b3I',
}
const hostname = 'demo.cluster-abc123def456.us-east-1.rds.amazonaws.com'

function sign(sessionToken?: string): Promise<string> {
  return new Signer({
    hostname,
    port: 5432,
    region: 'us-east-1',
    username: 'app user',
    credentials: { ...credentials, ...(sessionToken === undefined ? {} : { sessionToken }) },
  }).getAuthToken()
}

function parse(token: string): NonNullable<ReturnType<typeof parsePresignedRequest>> {
  const request = parsePresignedRequest(token)
  if (!request) throw new Error('token did not parse')
  return request
}

describe('parsePresignedRequest', () => {
  it('reads host and decoded parameters', async () => {
    const request = parse(await sign('session/token+with=specials'))
    expect(request.host).toBe(`${hostname}:5432`)
    expect(request.params.get('DBUser')).toBe('app user')
    expect(request.params.get('X-Amz-Security-Token')).toBe('session/token+with=specials')
  })

  it.each([
    ['no query', `${hostname}:5432/`],
    ['no port', `${hostname}/?Action=connect`],
    ['a path', `${hostname}:5432/db?Action=connect`],
    ['a scheme', `https://${hostname}:5432/?Action=connect`],
    ['a repeated parameter', `${hostname}:5432/?Action=connect&Action=connect`],
    ['a bad escape', `${hostname}:5432/?DBUser=%E0%A4%A`],
  ])('refuses %s', (_, token) => {
    expect(parsePresignedRequest(token)).toBeUndefined()
  })
})

describe('verifySignature', () => {
  it('accepts a token from @aws-sdk/rds-signer', async () => {
    expect(verifySignature(parse(await sign()), credentials.secretAccessKey)).toBe(true)
  })

  it('accepts the parameters in any order and without the slash before the query', async () => {
    const token = await sign('a-session-token')
    const [host, query] = token.split('/?') as [string, string]
    const reordered = `${host}?${query.split('&').reverse().join('&')}`
    expect(verifySignature(parse(reordered), credentials.secretAccessKey)).toBe(true)
  })

  it('refuses another secret, a changed parameter and a changed signature', async () => {
    const token = await sign()
    expect(verifySignature(parse(token), `${credentials.secretAccessKey}x`)).toBe(false)
    expect(
      verifySignature(parse(token.replace('DBUser=app%20user', 'DBUser=admin')), credentials.secretAccessKey),
    ).toBe(false)
    const signature = parse(token).params.get('X-Amz-Signature')!
    const flipped = signature.replace(/.$/, (c) => (c === '0' ? '1' : '0'))
    expect(verifySignature(parse(token.replace(signature, flipped)), credentials.secretAccessKey)).toBe(false)
  })

  it('computes the signature the signer wrote', async () => {
    const request = parse(await sign())
    expect(computeSignature(request, credentials.secretAccessKey)).toBe(request.params.get('X-Amz-Signature'))
  })

  it(`accepts tokens of exactly ${MAX_TOKEN_BYTES} bytes and refuses longer ones`, async () => {
    const base = (await sign('x')).length
    const longest = await sign('x'.repeat(1 + MAX_TOKEN_BYTES - base))
    expect(Buffer.byteLength(longest)).toBe(MAX_TOKEN_BYTES)
    expect(verifySignature(parse(longest), credentials.secretAccessKey)).toBe(true)
    const tooLong = await sign('x'.repeat(2 + MAX_TOKEN_BYTES - base))
    expect(parsePresignedRequest(tooLong)).toBeUndefined()
  })
})
