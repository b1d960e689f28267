import { Signer } from '@aws-sdk/rds-signer'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { rdsTarget } from './targets/rds-target'
import { FAKE_IDENTITY, RDS_HOST } from './test-helpers'
import { signToken } from './token-signer'

const TOKEN_LIFETIME_MS = 900_000

interface RdsTarget {
  hostname: string
  port: number
  username: string
  region: string
}

// What core signs for an RDS endpoint, as createIamAuth asks the target for it.
function rdsRequest({ hostname, port, username, region }: RdsTarget) {
  const kind = rdsTarget.tokenKind({
    tokenHost: hostname,
    tokenPort: port,
    user: username,
    admin: undefined,
    lifetimeSeconds: undefined,
  })
  return { kind, region }
}

const signedAt = Date.UTC(2026, 0, 1)
const request = { hostname: RDS_HOST, port: 5432, username: 'app_user', region: 'us-east-1', signedAt }

describe('signToken', () => {
  it('makes an RDS IAM token for host, port, user and region with the given identity', () => {
    const { token } = signToken({ ...rdsRequest(request), signedAt, identity: FAKE_IDENTITY })
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

  it('signs the session token of temporary credentials into the token', () => {
    const { token } = signToken({
      ...rdsRequest(request),
      signedAt,
      identity: { ...FAKE_IDENTITY, sessionToken: 'SESSION/TOKEN+1' },
    })
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Security-Token')).toBe('SESSION/TOKEN+1')
  })

  it('lives 15 minutes from signing when the credentials do not expire first', () => {
    const later = new Date(signedAt + 2 * TOKEN_LIFETIME_MS)
    for (const identity of [FAKE_IDENTITY, { ...FAKE_IDENTITY, expiration: later }]) {
      const signed = signToken({ ...rdsRequest(request), signedAt, identity })
      expect(signed.expiresAt).toBe(signedAt + TOKEN_LIFETIME_MS)
    }
  })

  it('dies with credentials that expire sooner', () => {
    const expiration = new Date(signedAt + 5 * 60_000)
    const signed = signToken({ ...rdsRequest(request), signedAt, identity: { ...FAKE_IDENTITY, expiration } })
    expect(signed.expiresAt).toBe(expiration.getTime())
  })
})

describe('signToken against @aws-sdk/rds-signer', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  // What users write: mixed-case endpoints, users that need escaping, session tokens full of / + =, other ports.
  const cases = [
    { hostname: RDS_HOST, port: 5432, username: 'app_user', region: 'us-east-1' },
    {
      hostname: 'Demo.Cluster-ABC.eu-west-1.rds.amazonaws.com',
      port: 6543,
      username: 'App User',
      region: 'eu-west-1',
    },
    { hostname: '10.0.0.7', port: 443, username: "o'brien+ops@corp!(x)*~é", region: 'ap-southeast-2' },
    {
      hostname: 'proxy.proxy-abc.cn-north-1.rds.amazonaws.com.cn',
      port: 5432,
      username: '%41 /?&=#',
      region: 'cn-north-1',
    },
  ]
  const identities = [
    FAKE_IDENTITY,
    { ...FAKE_IDENTITY, sessionToken: 'IQoJb3JpZ2luX2VjE/+=//abc+def==' },
    { accessKeyId: 'ASIAZZZZ', secretAccessKey: 'a/b+c=d e', sessionToken: 'x y&z' },
  ]

  it('makes the same token, byte for byte, for every endpoint, user and identity', async () => {
    // Two times, so a date that crosses midnight UTC and a mid-day one are both covered.
    for (const time of [Date.UTC(2026, 11, 7, 23, 59, 59, 999), Date.UTC(2027, 1, 28, 12, 0, 0, 1)]) {
      vi.useFakeTimers({ toFake: ['Date'], now: time })
      for (const target of cases) {
        for (const identity of identities) {
          const expected = await new Signer({ ...target, credentials: identity }).getAuthToken()
          expect(signToken({ ...rdsRequest(target), identity, signedAt: time }, new Date(time)).token).toBe(
            expected,
          )
        }
      }
    }
  })

  it('makes the same token for 300 random users, endpoints, ports and identities', async () => {
    // Seeded, so a failure names a case that can be run again.
    let seed = 20261207
    const random = (below: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % below
    }
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')
    const alphabet = `${printable}éß€中😀`
    const text = (chars: string, length: number): string =>
      Array.from({ length }, () => [...chars][random([...chars].length)]).join('')
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'
    const time = Date.UTC(2026, 6, 15, 3, 4, 5)
    vi.useFakeTimers({ toFake: ['Date'], now: time })
    for (let index = 0; index < 300; index++) {
      const target = {
        hostname: `${text(letters, 1 + random(20))}.cluster-${text(letters, 6)}.us-west-2.rds.amazonaws.com`,
        port: 1 + random(65_535),
        username: text(alphabet, 1 + random(40)),
        region: ['us-east-1', 'eu-central-1', 'ap-northeast-3', 'us-gov-west-1'][random(4)]!,
      }
      const identity = {
        accessKeyId: `ASIA${text('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
        secretAccessKey: text(printable, 40),
        ...(random(2) === 0 ? {} : { sessionToken: text(`${letters}+/=`, 1 + random(600)) }),
      }
      const expected = await new Signer({ ...target, credentials: identity }).getAuthToken()
      expect(
        signToken({ ...rdsRequest(target), identity, signedAt: time }, new Date(time)).token,
        `case ${index}`,
      ).toBe(expected)
    }
  })

  it('signs at the system time by default, as the SDK does', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 5, 1, 8, 30) })
    const target = cases[0]!
    const expected = await new Signer({ ...target, credentials: FAKE_IDENTITY }).getAuthToken()
    // The cache's clock (signedAt) only decides the expiry.
    expect(signToken({ ...rdsRequest(target), identity: FAKE_IDENTITY, signedAt: 0 }).token).toBe(expected)
  })
})
