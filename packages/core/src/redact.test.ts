import { describe, expect, it } from 'vitest'
import { redact } from './redact'

const token =
  'mydb.abc.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20260101T000000Z' +
  '&X-Amz-Expires=900&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2F%2B%3D&X-Amz-Signature=0123abcdef&X-Amz-SignedHeaders=host'

describe('redact', () => {
  it('masks the signature, session token and credential of a token and keeps the rest readable', () => {
    const text = redact(`connect failed with password ${token} (28P01)`)
    expect(text).not.toMatch(/0123abcdef|IQoJb3JpZ2luX2VjEXAMPLE|AKIAIOSFODNN7EXAMPLE/)
    expect(text).toContain('X-Amz-Signature=[redacted]')
    expect(text).toContain('X-Amz-Security-Token=[redacted]')
    expect(text).toContain('X-Amz-Credential=[redacted]')
    expect(text).toContain('DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256')
    expect(text).toMatch(/\(28P01\)$/)
  })

  it('masks URL-encoded and differently cased parameters, each occurrence', () => {
    const text = redact('a x-amz-signature%3Dfeed b X-AMZ-SIGNATURE=beef "X-Amz-Signature=cafe"')
    expect(text).not.toMatch(/feed|beef|cafe/)
    expect(text.match(/\[redacted\]/g)).toHaveLength(3)
  })

  it('leaves text without tokens alone', () => {
    expect(redact('PAM authentication failed for user "app"')).toBe(
      'PAM authentication failed for user "app"',
    )
  })
})

// Real tokens, signed offline by the SDK's own signer with keys shaped like real ones.
const IDENTITY = {
  accessKeyId: 'ASIAQNOTAREALKEY1234',
  secretAccessKey: 'ZmFrZVNlY3JldEFjY2Vzc0tleUZvclRlc3RzMTIzNDU2',
  sessionToken: `IQoJb3JpZ2luX2VjE${'A/b+c='.repeat(60)}Zz`,
}

async function realToken(sessionToken?: string): Promise<string> {
  const { Signer } = await import('@aws-sdk/rds-signer')
  const credentials = { ...IDENTITY, sessionToken }
  return new Signer({
    hostname: 'mydb.abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    username: 'app',
    region: 'eu-west-1',
    credentials,
  }).getAuthToken()
}

// The parts of a token that let someone connect or name the key: signature, session token (as signed, URL-encoded),
// access key id.
function secretsOf(token: string): string[] {
  const query = new URLSearchParams(token.slice(token.indexOf('?') + 1))
  const encoded = (name: string) => new RegExp(`${name}=([^&]+)`).exec(token)?.[1]
  return [query.get('X-Amz-Signature'), encoded('X-Amz-Security-Token'), IDENTITY.accessKeyId].filter(
    (value): value is string => value !== undefined && value !== null,
  )
}

describe('redact with tokens from @aws-sdk/rds-signer', () => {
  it.each([
    ['long-term keys', undefined],
    ['a session token', IDENTITY.sessionToken],
  ])('masks a token signed with %s, however it is quoted', async (_name, sessionToken) => {
    const token = await realToken(sessionToken)
    const secrets = secretsOf(token)
    expect(secrets.length).toBe(sessionToken ? 3 : 2)
    for (const text of [
      token,
      JSON.stringify({ password: token }),
      encodeURIComponent(token),
      `password "${token}" rejected`,
    ]) {
      const masked = redact(text)
      for (const secret of [...secrets, IDENTITY.sessionToken, encodeURIComponent(IDENTITY.sessionToken)]) {
        expect(masked).not.toContain(secret)
      }
      expect(masked).toContain('[redacted]')
    }
  })

  it('masks secret keys and session tokens by the names AWS tools give them', () => {
    const texts = [
      `aws_secret_access_key = ${IDENTITY.secretAccessKey}`,
      `AWS_SESSION_TOKEN=${IDENTITY.sessionToken}`,
      JSON.stringify({
        Version: 1,
        SecretAccessKey: IDENTITY.secretAccessKey,
        SessionToken: IDENTITY.sessionToken,
      }),
      `{ accessKeyId: 'x', secretAccessKey: '${IDENTITY.secretAccessKey}', sessionToken: '${IDENTITY.sessionToken}' }`,
    ]
    for (const text of texts) {
      const masked = redact(text)
      expect(masked).not.toContain(IDENTITY.secretAccessKey)
      expect(masked).not.toContain(IDENTITY.sessionToken.slice(0, 20))
    }
  })
})
