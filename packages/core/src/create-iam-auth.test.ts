import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createIamAuth } from './create-iam-auth'
import {
  collectEvents,
  createCountingProvider,
  createFakeClock,
  driverError,
  eventsOfType,
  FAKE_IDENTITY,
  RDS_HOST,
} from './test-helpers'
import { resetTokenCacheForTesting } from './token-cache'
import type { ConnectAttempt, IamAuthOptions, IamLogger } from './types'

const MINUTE = 60_000

function authWith(options: Partial<IamAuthOptions> = {}) {
  const { events, onEvent } = collectEvents()
  const clock = createFakeClock()
  const provider = createCountingProvider()
  const auth = createIamAuth({
    host: RDS_HOST,
    user: 'app_user',
    credentials: provider,
    clock,
    onEvent,
    ...options,
  })
  return { auth, events, clock, provider, generations: () => eventsOfType(events, 'token-generated').length }
}

beforeEach(() => resetTokenCacheForTesting())

describe('createIamAuth', () => {
  it('exposes the resolved connection settings', async () => {
    const { auth } = authWith()
    expect(auth).toMatchObject({
      host: RDS_HOST,
      port: 5432,
      user: 'app_user',
      region: 'us-east-1',
      tokenHost: RDS_HOST,
      tokenPort: 5432,
    })
    const tunnel = authWith({ host: '127.0.0.1', port: 15432, tokenHost: RDS_HOST, tokenPort: 5432 }).auth
    expect(tunnel).toMatchObject({
      host: '127.0.0.1',
      port: 15432,
      tokenHost: RDS_HOST,
      tokenPort: 5432,
      region: 'us-east-1',
    })
    await expect(tunnel.tls()).resolves.toMatchObject({ servername: RDS_HOST, rejectUnauthorized: true })
    expect(tunnel.sslMode).toBe('verify-full')
  })

  it('signs for the token host and port, not the dialed tunnel', async () => {
    const { auth } = authWith({ host: 'localhost', port: 15432, tokenHost: RDS_HOST, tokenPort: 5432 })
    const token = new URL(`https://${await auth.getToken()}`)
    expect(token.host).toBe(`${RDS_HOST}:5432`)
    expect(token.searchParams.get('DBUser')).toBe('app_user')
    expect(token.searchParams.get('X-Amz-Credential')).toContain('/us-east-1/rds-db/')
  })

  it('makes one token and resolves credentials once for 100 concurrent cold calls', async () => {
    const { auth, provider, generations } = authWith()
    const tokens = await Promise.all(Array.from({ length: 100 }, () => auth.getToken()))
    expect(new Set(tokens).size).toBe(1)
    expect(generations()).toBe(1)
    expect(provider.calls).toBe(1)
  })

  it('shares tokens with every IamAuth of the same endpoint, user, region and access key', async () => {
    const first = authWith()
    const second = authWith()
    const token = await first.auth.getToken()
    await expect(second.auth.getToken()).resolves.toBe(token)
    expect(second.generations()).toBe(0)
    const otherUser = authWith({ user: 'reporting' })
    await otherUser.auth.getToken()
    expect(otherUser.generations()).toBe(1)
  })

  it('reads time from the clock option and refreshes ahead of expiry in the background', async () => {
    const { auth, clock, events } = authWith()
    await auth.getToken()
    expect(eventsOfType(events, 'token-generated')[0]?.expiresAt).toEqual(new Date(clock.now() + 15 * MINUTE))
    clock.advance(11 * MINUTE)
    await auth.getToken()
    await vi.waitFor(() =>
      expect(eventsOfType(events, 'token-generated').map((e) => e.background)).toEqual([false, true]),
    )
  })

  it('signs with new credentials once the old ones near expiry', async () => {
    const clock = createFakeClock()
    const provider = createCountingProvider((call) => ({
      ...FAKE_IDENTITY,
      accessKeyId: `ASIAROTATION${call}`,
      sessionToken: `session-${call}`,
      expiration: new Date(clock.now() + 20 * MINUTE),
    }))
    const { auth, events } = authWith({ credentials: provider, clock })
    await auth.getToken()
    clock.advance(16 * MINUTE)
    const token = await auth.getToken()
    expect(token).toContain('ASIAROTATION2')
    expect(eventsOfType(events, 'token-generated').map((e) => e.key.accessKeyId)).toEqual([
      'ASIAROTATION1',
      'ASIAROTATION2',
    ])
  })

  it('serves a cached token without asking the provider, also while the provider is down', async () => {
    const clock = createFakeClock()
    const expiration = new Date(clock.now() + 30 * MINUTE)
    let down = false
    let calls = 0
    const provider = async () => {
      calls++
      if (down) throw new Error('connect ECONNREFUSED 169.254.169.254:80')
      return { ...FAKE_IDENTITY, sessionToken: 'session', expiration }
    }
    const { auth, events } = authWith({ credentials: provider, clock })
    const generated = () => eventsOfType(events, 'token-generated').length
    const failures = () => eventsOfType(events, 'token-refresh-failed').length
    const first = await auth.getToken()
    down = true
    for (let i = 0; i < 50; i++) await expect(auth.getToken()).resolves.toBe(first)
    // Refreshes ahead of expiry sign with the identity already held, as long as it lives long enough.
    // A refresh counts as running until its promise settles, a few ticks after its token-generated event: the
    // connect that should start the next refresh is repeated until one has.
    clock.advance(11 * MINUTE)
    await vi.waitFor(async () => {
      await auth.getToken()
      expect(generated()).toBe(2)
    })
    clock.advance(11 * MINUTE)
    await vi.waitFor(async () => {
      await auth.getToken()
      expect(generated()).toBe(3)
    })
    expect(calls).toBe(1)
    // Now the identity itself needs renewing and the provider is down: callers keep the valid token, and the
    // provider is asked again only after a pause, not on every connect.
    clock.advance(4 * MINUTE)
    await vi.waitFor(async () => {
      await auth.getToken()
      expect(failures()).toBeGreaterThan(0)
    })
    const callsAfterFailure = calls
    for (let i = 0; i < 50; i++) await expect(auth.getToken()).resolves.toContain('X-Amz-Signature=')
    expect(calls).toBe(callsAfterFailure)
    down = false
    clock.advance(11_000)
    await auth.getToken()
    await vi.waitFor(() =>
      expect(eventsOfType(events, 'token-generated').at(-1)?.key.accessKeyId).toBe(FAKE_IDENTITY.accessKeyId),
    )
    expect(calls).toBeGreaterThan(callsAfterFailure)
  })

  it('fails getToken as credentials when the provider does not answer within timeoutMs', async () => {
    const hanging = (): Promise<never> => new Promise(() => {})
    const { auth } = authWith({ credentials: hanging })
    await expect(auth.getToken({ timeoutMs: 50 })).rejects.toMatchObject({
      name: 'RdsIamError',
      code: 'credentials',
      message: expect.stringContaining('50 ms'),
    })
    // A cached token needs no provider, so no timeout can fail it.
    const { auth: cached } = authWith()
    const first = await cached.getToken()
    await expect(cached.getToken({ timeoutMs: 1 })).resolves.toBe(first)
  })

  it('drops only the token of the rejected attempt, not one another connection fetched since', async () => {
    const { auth, events, generations } = authWith()
    const rejected = await auth.retry(async (attempt) => {
      await attempt.password()
      return attempt
    })
    auth.invalidate()
    await auth.getToken()
    expect(generations()).toBe(2)
    // A late rejection of the first token must not throw away the second.
    let first = true
    await auth.retry(async (attempt) => {
      if (first) {
        first = false
        await rejected.password()
        throw driverError('28000', 'PAM authentication failed for user "app_user"')
      }
      return attempt.password()
    })
    expect(eventsOfType(events, 'token-invalidated')).toHaveLength(1)
  })

  it('invalidate() drops the token so the next call makes a new one', async () => {
    const { auth, events, generations } = authWith()
    auth.invalidate()
    expect(events).toEqual([])
    await auth.getToken()
    auth.invalidate()
    await auth.getToken()
    expect(generations()).toBe(2)
    expect(eventsOfType(events, 'token-invalidated')).toHaveLength(1)
  })

  it('retries a rejected connect with a freshly generated token', async () => {
    const { auth, events, generations } = authWith()
    await auth.getToken()
    let attempts = 0
    const result = await auth.retry(async (attempt) => {
      await attempt.password()
      if (attempts++ === 0) throw driverError('28000', 'PAM authentication failed for user "app_user"')
      return 'connected'
    })
    expect(result).toBe('connected')
    expect(generations()).toBe(2)
    expect(eventsOfType(events, 'auth-retry')).toHaveLength(1)
  })

  it('replaces a token once when many connects fail with it at the same time', async () => {
    const { auth, events, generations } = authWith()
    await auth.getToken()
    // Each connect signs in once with whatever the cache holds; the server refuses the first token. (Tokens signed
    // within the same second are identical strings, so the generation count tells the tokens apart.)
    const connect = async (attempt: ConnectAttempt): Promise<number> => {
      await attempt.password()
      const generation = generations()
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (generation === 1) throw driverError('28000', 'PAM authentication failed for user "app_user"')
      return generation
    }
    const results = await Promise.all(Array.from({ length: 10 }, () => auth.retry(connect)))
    expect(results).toEqual(Array(10).fill(2))
    expect(eventsOfType(events, 'token-invalidated')).toHaveLength(1)
    expect(eventsOfType(events, 'auth-retry')).toHaveLength(10)
  })

  it('names user, host and region in the final error', async () => {
    const { auth } = authWith()
    const error = await auth
      .retry(() => Promise.reject(driverError('28P01', 'password authentication failed for user "app_user"')))
      .catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'not-iam-user',
      hint: expect.stringContaining('GRANT rds_iam TO "app_user"'),
    })
    expect((error as Error).message).toContain(`"app_user" to ${RDS_HOST}:5432`)
  })

  it('keeps working when an event handler throws', async () => {
    const { auth } = authWith({
      onEvent: () => {
        throw new Error('metrics down')
      },
    })
    await expect(auth.getToken()).resolves.toContain('X-Amz-Signature=')
  })

  it('refuses to turn TLS off, and warns through the logger when verification is skipped', () => {
    expect(() => authWith({ ssl: false as unknown as true })).toThrow(
      expect.objectContaining({ code: 'ssl-required' }),
    )
    const warn = vi.fn<NonNullable<IamLogger['warn']>>()
    authWith({ ssl: 'require', logger: { warn } })
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('not verified'),
      expect.objectContaining({ type: 'tls-insecure' }),
    )
  })

  it('fails fast on bad options', () => {
    expect(() => createIamAuth({ host: 'postgres://db', user: 'u' })).toThrow(
      expect.objectContaining({ code: 'config' }),
    )
  })
})

describe('createIamAuth region from the profile', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rds-iam-auth-'))
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(name, undefined)
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'))
  })

  afterEach(() => {
    vi.unstubAllEnvs()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is read at the first token, not at creation', async () => {
    const { auth } = authWith({ host: 'db.internal.example', profile: 'analytics' })
    expect(auth.region).toBeUndefined()
    writeFileSync(join(dir, 'config'), '[profile analytics]\nregion = eu-north-1\n')
    const token = await auth.getToken()
    expect(auth.region).toBe('eu-north-1')
    expect(token).toContain('%2Feu-north-1%2Frds-db%2F')
  })

  it('fails the token with region-missing when there is none', async () => {
    const { auth, provider } = authWith({ host: 'db.internal.example' })
    await expect(auth.getToken()).rejects.toMatchObject({ code: 'region-missing' })
    expect(provider.calls).toBe(0)
  })
})

describe('createIamAuth secrets', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
  const sessionToken = 'IQoJb3JpZ2luX2VjSESSIONTOKENEXAMPLE'

  it('never shows a token, signature, session token or secret key in inspect, JSON, events, logs or errors', async () => {
    const { events, onEvent } = collectEvents()
    const lines: string[] = []
    const record = (message: string, event: unknown) => lines.push(message, JSON.stringify(event))
    const logger = { debug: record, info: record, warn: record, error: record }
    const credentials = { ...FAKE_IDENTITY, secretAccessKey: secret, sessionToken }
    const auth = createIamAuth({
      host: RDS_HOST,
      user: 'app_user',
      credentials,
      onEvent,
      logger,
      ssl: 'require',
    })
    const token = await auth.getToken()
    await auth.getToken()
    const signature = new URL(`https://${token}`).searchParams.get('X-Amz-Signature') ?? 'missing'
    auth.invalidate()
    const echoed = await auth
      .retry(() =>
        Promise.reject(driverError('28P01', `password authentication failed, password was ${token}`)),
      )
      .catch((e: unknown) => e)
    const badCredentials = (() => {
      try {
        createIamAuth({ host: RDS_HOST, user: 'u', credentials: { secretAccessKey: secret } as never })
      } catch (error) {
        return error
      }
    })()

    const outputs = [
      inspect(auth, { depth: 10, showHidden: true }),
      JSON.stringify(auth),
      String(Object.keys(auth)),
      JSON.stringify(events),
      inspect(events, { depth: 10 }),
      ...lines,
      (echoed as Error).message,
      (echoed as Error).stack ?? '',
      JSON.stringify(echoed),
      inspect(echoed, { depth: 10 }),
      inspect(badCredentials, { depth: 10 }),
      JSON.stringify(badCredentials),
    ]
    expect(lines.length).toBeGreaterThan(5)
    expect(eventsOfType(events, 'token-invalidated')).toHaveLength(1)
    for (const output of outputs) {
      for (const leak of [token, signature, secret, sessionToken]) expect(output).not.toContain(leak)
    }
  })
})

// Issue 23: a changed secret key under the same access key id must not borrow the token the old one signed.
describe('createIamAuth token cache key', () => {
  const withSecret = (secretAccessKey: string, sessionToken?: string) =>
    authWith({
      credentials: { ...FAKE_IDENTITY, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    })

  it('signs anew for the same access key id with another secret key, and reuses the token for the same one', async () => {
    const first = withSecret(FAKE_IDENTITY.secretAccessKey)
    const right = await first.auth.getToken()
    const wrong = withSecret('a-wrong-secret-key-for-the-same-key-id00')
    const signedWithWrong = await wrong.auth.getToken()
    expect(wrong.generations()).toBe(1)
    expect(signedWithWrong).not.toBe(right)
    const same = withSecret(FAKE_IDENTITY.secretAccessKey)
    expect(await same.auth.getToken()).toBe(right)
    expect(same.generations()).toBe(0)
  })

  it('signs anew when only the session token changed, as an ASIA key id can keep it', async () => {
    const first = withSecret(FAKE_IDENTITY.secretAccessKey, 'session-one')
    await first.auth.getToken()
    const rotated = withSecret(FAKE_IDENTITY.secretAccessKey, 'session-two')
    await rotated.auth.getToken()
    expect(rotated.generations()).toBe(1)
  })

  it('keeps the secret key and its fingerprint out of the events', async () => {
    const { auth, events } = withSecret(FAKE_IDENTITY.secretAccessKey)
    await auth.getToken()
    const shown = JSON.stringify(events)
    expect(shown).not.toContain(FAKE_IDENTITY.secretAccessKey)
    expect(Object.keys(eventsOfType(events, 'token-generated')[0]?.key ?? {}).sort()).toEqual([
      'accessKeyId',
      'action',
      'lifetimeSeconds',
      'region',
      'tokenHost',
      'tokenPort',
      'user',
    ])
  })
})
