import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCredentialSource } from './credentials'
import { createCountingProvider, createFakeClock, deferred, FAKE_IDENTITY } from './test-helpers'
import type { AwsCredentialIdentity } from './types'

const MINUTE = 60_000

function sourceWith(provider: () => Promise<AwsCredentialIdentity>, clock = createFakeClock()) {
  return createCredentialSource({ credentials: provider, profile: undefined, clock, minRemainingMs: MINUTE })
}

describe('createCredentialSource with a provider', () => {
  it('resolves once for many concurrent callers', async () => {
    const gate = deferred<void>()
    const provider = createCountingProvider()
    const source = sourceWith(async () => {
      await gate.promise
      return provider()
    })
    const all = Promise.all(Array.from({ length: 50 }, () => source.resolve()))
    gate.resolve()
    expect(new Set(await all)).toEqual(new Set([FAKE_IDENTITY]))
    expect(provider.calls).toBe(1)
  })

  it('reuses an identity without expiration forever', async () => {
    const clock = createFakeClock()
    const provider = createCountingProvider()
    const source = sourceWith(provider, clock)
    await source.resolve()
    clock.advance(24 * 60 * MINUTE)
    await source.resolve()
    expect(provider.calls).toBe(1)
  })

  it('reuses an expiring identity until 5 minutes before it expires, then asks again', async () => {
    const clock = createFakeClock()
    const provider = createCountingProvider((call) => ({
      ...FAKE_IDENTITY,
      accessKeyId: `ASIA${call}`,
      expiration: new Date(clock.now() + 60 * MINUTE),
    }))
    const source = sourceWith(provider, clock)
    expect((await source.resolve()).accessKeyId).toBe('ASIA1')
    clock.advance(54 * MINUTE)
    expect((await source.resolve()).accessKeyId).toBe('ASIA1')
    clock.advance(MINUTE)
    expect((await source.resolve()).accessKeyId).toBe('ASIA2')
    expect(provider.calls).toBe(2)
  })

  it('keeps at least minRemainingMs of life when that is longer than 5 minutes', async () => {
    const clock = createFakeClock()
    const provider = createCountingProvider(() => ({
      ...FAKE_IDENTITY,
      expiration: new Date(clock.now() + 60 * MINUTE),
    }))
    const source = createCredentialSource({
      credentials: provider,
      profile: undefined,
      clock,
      minRemainingMs: 10 * MINUTE,
    })
    await source.resolve()
    clock.advance(49 * MINUTE)
    await source.resolve()
    expect(provider.calls).toBe(1)
    clock.advance(MINUTE)
    await source.resolve()
    expect(provider.calls).toBe(2)
  })

  it('asks a provider that only has short-lived credentials again after half their life, not on every call', async () => {
    const clock = createFakeClock()
    const expiration = new Date(clock.now() + 4 * MINUTE)
    const provider = createCountingProvider(() => ({ ...FAKE_IDENTITY, expiration }))
    const source = sourceWith(provider, clock)
    await source.resolve()
    await source.resolve()
    expect(provider.calls).toBe(1)
    clock.advance(2 * MINUTE)
    await source.resolve()
    expect(provider.calls).toBe(2)
  })

  it('turns a provider failure into a credentials error with a fix, and tries again next time', async () => {
    let fail = true
    const source = sourceWith(async () => {
      if (fail)
        throw Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        })
      return FAKE_IDENTITY
    })
    const error = await source.resolve().catch((e: unknown) => e)
    expect(error).toMatchObject({
      name: 'RdsIamError',
      code: 'credentials',
      cause: { name: 'CredentialsProviderError' },
    })
    expect((error as Error).message).toContain('the `credentials` option')
    expect((error as { hint: string }).hint).toContain('AWS_ACCESS_KEY_ID')
    fail = false
    await expect(source.resolve()).resolves.toBe(FAKE_IDENTITY)
  })

  it('refuses an identity without keys', async () => {
    const source = sourceWith(async () => ({}) as AwsCredentialIdentity)
    await expect(source.resolve()).rejects.toMatchObject({ code: 'credentials' })
  })
})

describe('createCredentialSource with a static identity', () => {
  it('hands out the identity', async () => {
    const source = createCredentialSource({
      credentials: FAKE_IDENTITY,
      profile: undefined,
      clock: Date,
      minRemainingMs: 0,
    })
    await expect(source.resolve()).resolves.toBe(FAKE_IDENTITY)
  })
})

describe('createCredentialSource with the default provider chain', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rds-iam-credentials-'))
    // Nothing may reach for the instance metadata service or a real ~/.aws.
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'))
    for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      vi.stubEnv(name, undefined)
    }
    for (const name of [
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ]) {
      vi.stubEnv(name, undefined)
    }
  })

  afterEach(() => {
    vi.unstubAllEnvs()
    rmSync(dir, { recursive: true, force: true })
  })

  const chain = (profile?: string) =>
    createCredentialSource({ credentials: undefined, profile, clock: Date, minRemainingMs: MINUTE })

  it('reads environment credentials', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAENVIRONMENT')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret')
    await expect(chain().resolve()).resolves.toMatchObject({ accessKeyId: 'AKIAENVIRONMENT' })
  })

  it('passes the profile to the chain', async () => {
    writeFileSync(
      join(dir, 'credentials'),
      '[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = a\n\n[reporting]\naws_access_key_id = AKIAREPORTING\naws_secret_access_key = b\n',
    )
    await expect(chain('reporting').resolve()).resolves.toMatchObject({ accessKeyId: 'AKIAREPORTING' })
    await expect(chain().resolve()).resolves.toMatchObject({ accessKeyId: 'AKIADEFAULT' })
  })

  it('creates the chain once per source, with the profile, however often credentials rotate', async () => {
    const clock = createFakeClock()
    const created: unknown[] = []
    vi.doMock('@aws-sdk/credential-providers', () => ({
      fromNodeProviderChain: (init: unknown) => {
        created.push(init)
        return createCountingProvider((call) => ({
          ...FAKE_IDENTITY,
          accessKeyId: `ASIA${call}`,
          expiration: new Date(clock.now() + 10 * MINUTE),
        }))
      },
    }))
    vi.resetModules()
    try {
      const fresh = await import('./credentials')
      const source = fresh.createCredentialSource({
        credentials: undefined,
        profile: 'ops',
        clock,
        minRemainingMs: MINUTE,
      })
      for (const expected of ['ASIA1', 'ASIA2', 'ASIA3']) {
        await expect(source.resolve()).resolves.toMatchObject({ accessKeyId: expected })
        clock.advance(6 * MINUTE)
      }
      expect(created).toEqual([{ profile: 'ops' }])
    } finally {
      vi.doUnmock('@aws-sdk/credential-providers')
    }
  })

  it('explains an unknown profile', async () => {
    const error = await chain('nope')
      .resolve()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    expect((error as Error).message).toContain('profile "nope"')
    expect((error as { hint: string }).hint).toContain('Profile "nope" gave no credentials')
  })
})
