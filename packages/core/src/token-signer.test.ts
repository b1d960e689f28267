import { describe, expect, it } from 'vitest'
import { FAKE_IDENTITY, RDS_HOST } from './test-helpers'
import { signToken, TOKEN_LIFETIME_MS } from './token-signer'

const signedAt = Date.UTC(2026, 0, 1)
const request = { hostname: RDS_HOST, port: 5432, username: 'app_user', region: 'us-east-1', signedAt }

describe('signToken', () => {
  it('makes an RDS IAM token for host, port, user and region with the given identity', async () => {
    const { token } = await signToken({ ...request, identity: FAKE_IDENTITY })
    const url = new URL(`https://${token}`)
    expect(url.host).toBe(`${RDS_HOST}:5432`)
    expect(url.searchParams.get('Action')).toBe('connect')
    expect(url.searchParams.get('DBUser')).toBe('app_user')
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900')
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/rds-db\/aws4_request$/,
    )
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    expect(url.searchParams.has('X-Amz-Security-Token')).toBe(false)
  })

  it('signs the session token of temporary credentials into the token', async () => {
    const { token } = await signToken({
      ...request,
      identity: { ...FAKE_IDENTITY, sessionToken: 'SESSION/TOKEN+1' },
    })
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Security-Token')).toBe('SESSION/TOKEN+1')
  })

  it('lives 15 minutes from signing when the credentials do not expire first', async () => {
    const later = new Date(signedAt + 2 * TOKEN_LIFETIME_MS)
    for (const identity of [FAKE_IDENTITY, { ...FAKE_IDENTITY, expiration: later }]) {
      const signed = await signToken({ ...request, identity })
      expect(signed.expiresAt).toBe(signedAt + TOKEN_LIFETIME_MS)
    }
  })

  it('dies with credentials that expire sooner', async () => {
    const expiration = new Date(signedAt + 5 * 60_000)
    const signed = await signToken({ ...request, identity: { ...FAKE_IDENTITY, expiration } })
    expect(signed.expiresAt).toBe(expiration.getTime())
  })
})
