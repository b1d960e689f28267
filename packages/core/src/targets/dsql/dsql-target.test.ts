import { beforeEach, describe, expect, it } from 'vitest'
import { createIamAuth } from '../../create-iam-auth'
import { isRdsIamError } from '../../errors'
import { inferRegion } from '../../region'
import {
  collectEvents,
  createCountingProvider,
  createFakeClock,
  eventsOfType,
  FAKE_IDENTITY,
  RDS_HOST,
} from '../../test-helpers'
import { resetTokenCacheForTesting } from '../../token-cache'
import type { IamAuthOptions } from '../../types'
import { detectTarget } from '../resolve-target'

const DSQL_HOST = 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-2.on.aws'

function dsqlAuth(options: Partial<IamAuthOptions> = {}) {
  const { events, onEvent } = collectEvents()
  const clock = createFakeClock()
  const auth = createIamAuth({
    host: DSQL_HOST,
    user: 'admin',
    credentials: createCountingProvider(),
    clock,
    onEvent,
    ...options,
  })
  return { auth, events, clock }
}

async function tokenOf(options: Partial<IamAuthOptions> = {}): Promise<URL> {
  return new URL(`https://${await dsqlAuth(options).auth.getToken()}`)
}

function configFailure(options: Partial<IamAuthOptions>): string {
  try {
    dsqlAuth(options)
  } catch (error) {
    if (isRdsIamError(error) && error.code === 'config') return error.message
    throw error
  }
  throw new Error('no config error')
}

beforeEach(() => resetTokenCacheForTesting())

describe('the Aurora DSQL target', () => {
  it.each([
    ['abc123.dsql.us-east-1.on.aws', 'us-east-1'],
    ['ABC123.DSQL.eu-central-1.ON.AWS.', 'eu-central-1'],
    ['abc123.dsql-fips.us-gov-west-1.on.aws', 'us-gov-west-1'],
  ])('is recognised from its endpoint %s, in %s', (host, region) => {
    expect(detectTarget(host).kind).toBe('dsql')
    expect(inferRegion(host)).toBe(region)
  })

  it.each([
    RDS_HOST,
    'db.example.com',
    '127.0.0.1',
    'abc.dsql.us-east-1.on.aws.example.com',
    'dsql.us-east-1.api.aws',
  ])('leaves %s to RDS', (host) => {
    expect(detectTarget(host).kind).toBe('rds')
  })

  it('follows from the host alone: region, pool lifetime, TLS roots, a DbConnectAdmin token for admin', async () => {
    const { auth } = dsqlAuth()
    expect(auth).toMatchObject({ target: 'dsql', region: 'eu-west-2', poolMaxLifetimeSeconds: 3300 })
    const url = new URL(`https://${await auth.getToken()}`)
    expect(url.host).toBe(DSQL_HOST)
    expect(url.searchParams.get('Action')).toBe('DbConnectAdmin')
    expect(url.searchParams.has('DBUser')).toBe(false)
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/\/eu-west-2\/dsql\/aws4_request$/)
    // Node's roots (Amazon Root CA 1 among them), not the RDS bundle; the host name check is the endpoint's.
    const tls = await auth.tls()
    expect(tls).toMatchObject({ servername: DSQL_HOST, rejectUnauthorized: true })
  })

  it('signs DbConnect for every other role, and lets `admin` override the choice either way', async () => {
    expect((await tokenOf({ user: 'app_user' })).searchParams.get('Action')).toBe('DbConnect')
    expect((await tokenOf({ user: 'admin', admin: false })).searchParams.get('Action')).toBe('DbConnect')
    expect((await tokenOf({ user: 'ops_admin', admin: true })).searchParams.get('Action')).toBe(
      'DbConnectAdmin',
    )
  })

  it('keeps the two actions of one role apart in the cache', async () => {
    const admin = await dsqlAuth().auth.getToken()
    const plain = await dsqlAuth({ admin: false }).auth.getToken()
    expect(new URL(`https://${admin}`).searchParams.get('Action')).toBe('DbConnectAdmin')
    expect(new URL(`https://${plain}`).searchParams.get('Action')).toBe('DbConnect')
  })

  it('can be forced for a tunnel, signing for the endpoint rather than the dialed address', async () => {
    const { auth } = dsqlAuth({
      host: '127.0.0.1',
      port: 15432,
      tokenHost: 'proxy.internal',
      target: 'dsql',
      region: 'us-east-2',
    })
    expect(auth.target).toBe('dsql')
    const url = new URL(`https://${await auth.getToken()}`)
    expect(url.host).toBe('proxy.internal')
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/\/us-east-2\/dsql\//)
  })

  it('lives 900 s by default and tokenLifetimeSeconds up to 604800 s, capped by the credentials', async () => {
    const { auth, events, clock } = dsqlAuth({ tokenLifetimeSeconds: 604_800 })
    const url = new URL(`https://${await auth.getToken()}`)
    expect(url.searchParams.get('X-Amz-Expires')).toBe('604800')
    const [generated] = eventsOfType(events, 'token-generated')
    expect(generated?.expiresAt.getTime()).toBe(clock.now() + 604_800_000)
    expect((await tokenOf()).searchParams.get('X-Amz-Expires')).toBe('900')
    const expiration = new Date(Date.UTC(2026, 0, 1) + 30 * 60_000)
    const capped = dsqlAuth({ credentials: { ...FAKE_IDENTITY, expiration }, tokenLifetimeSeconds: 3600 })
    await capped.auth.getToken()
    expect(eventsOfType(capped.events, 'token-generated')[0]?.expiresAt).toEqual(expiration)
  })

  it.each([0, 604_801, 1.5, '900'])('refuses tokenLifetimeSeconds %s at creation', (value) => {
    expect(configFailure({ tokenLifetimeSeconds: value as number })).toMatch(/1 to 604800/)
  })

  it('refuses cache margins a short lifetime cannot leave', () => {
    expect(configFailure({ tokenLifetimeSeconds: 60 })).toMatch(/cache\.minRemainingMs.*60000 ms/)
    expect(() =>
      dsqlAuth({ tokenLifetimeSeconds: 60, cache: { minRemainingMs: 10_000, refreshAheadMs: 20_000 } }),
    ).not.toThrow()
  })

  it('refuses its options on an RDS endpoint, and an unknown target', () => {
    expect(configFailure({ host: RDS_HOST, admin: true })).toMatch(/`admin` is an Aurora DSQL option/)
    expect(configFailure({ host: RDS_HOST, tokenLifetimeSeconds: 3600 })).toMatch(/Aurora DSQL option/)
    expect(configFailure({ target: 'postgres' as 'dsql' })).toMatch(/Unknown `target` "postgres"/)
  })
})
