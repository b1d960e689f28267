import { DsqlSigner } from '@aws-sdk/dsql-signer'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FAKE_IDENTITY } from '../../test-helpers'
import { signToken } from '../../token-signer'
import type { AwsCredentialIdentity } from '../../types'
import { dsqlTokenKind } from './dsql-token'

const HOST = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'

interface Case {
  hostname: string
  region: string
  admin: boolean
  expiresIn?: number
}

function official({ hostname, region, admin, expiresIn }: Case, credentials: AwsCredentialIdentity) {
  const signer = new DsqlSigner({ hostname, region, credentials, ...(expiresIn ? { expiresIn } : {}) })
  return admin ? signer.getDbConnectAdminAuthToken() : signer.getDbConnectAuthToken()
}

function ours({ hostname, region, admin, expiresIn }: Case, identity: AwsCredentialIdentity, at: number) {
  // The role's name does not enter a DSQL token; `admin` alone picks the action.
  const kind = dsqlTokenKind({
    tokenHost: hostname,
    tokenPort: 5432,
    user: 'r',
    admin,
    lifetimeSeconds: expiresIn,
  })
  return signToken({ kind, region, identity, signedAt: at }, new Date(at)).token
}

describe('signToken for Aurora DSQL against @aws-sdk/dsql-signer', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('signs DbConnect and DbConnectAdmin for the bare host, with no port, user or scheme', () => {
    const at = Date.UTC(2026, 0, 1)
    for (const admin of [false, true]) {
      const token = ours({ hostname: HOST, region: 'us-east-1', admin }, FAKE_IDENTITY, at)
      expect(token.startsWith(`${HOST}/?Action=${admin ? 'DbConnectAdmin' : 'DbConnect'}&`)).toBe(true)
      const url = new URL(`https://${token}`)
      expect(url.port).toBe('')
      expect(url.searchParams.has('DBUser')).toBe(false)
      expect(url.searchParams.get('X-Amz-Expires')).toBe('900')
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(/\/us-east-1\/dsql\/aws4_request$/)
    }
  })

  it('makes the same token, byte for byte, for 300 random hosts, regions, lifetimes, actions and identities', async () => {
    // Seeded, so a failure names a case that can be run again.
    let seed = 20261208
    const random = (below: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % below
    }
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'
    const text = (chars: string, length: number): string =>
      Array.from({ length }, () => chars[random(chars.length)]).join('')
    // Two times, so a date that crosses midnight UTC and a mid-day one are both covered.
    const times = [Date.UTC(2026, 11, 7, 23, 59, 59, 999), Date.UTC(2027, 1, 28, 12, 0, 0, 1)]
    for (let index = 0; index < 300; index++) {
      const time = times[index % 2]!
      vi.useFakeTimers({ toFake: ['Date'], now: time })
      const region = ['us-east-1', 'eu-west-2', 'ap-northeast-1', 'us-gov-west-1'][random(4)]!
      const target: Case = {
        hostname: `${text(letters, 1 + random(26))}.dsql${random(3) === 0 ? '-fips' : ''}.${region}.on.aws`,
        region,
        admin: random(2) === 0,
        ...(random(3) === 0 ? {} : { expiresIn: 1 + random(604_800) }),
      }
      const identity = {
        accessKeyId: `ASIA${text('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
        secretAccessKey: text(printable, 40),
        ...(random(2) === 0 ? {} : { sessionToken: text(`${letters}+/=`, 1 + random(600)) }),
      }
      expect(ours(target, identity, time), `case ${index}`).toBe(await official(target, identity))
    }
  })

  it('signs at the system time by default, as the SDK does', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 5, 1, 8, 30) })
    const target: Case = { hostname: HOST, region: 'us-east-1', admin: true }
    const kind = dsqlTokenKind({
      tokenHost: HOST,
      tokenPort: 5432,
      user: 'admin',
      admin: undefined,
      lifetimeSeconds: undefined,
    })
    expect(signToken({ kind, region: 'us-east-1', identity: FAKE_IDENTITY, signedAt: 0 }).token).toBe(
      await official(target, FAKE_IDENTITY),
    )
  })
})
