import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCredentialSource } from './credentials'
import { createCountingProvider, createFakeClock, deferred, FAKE_IDENTITY } from './test-helpers'
import type { AwsCredentialIdentity, Clock } from './types'

const MINUTE = 60_000
// What every source here shares unless a test says otherwise: the defaults of createIamAuth.
const BASE = { profile: undefined, clock: Date, minRemainingMs: MINUTE, timeoutMs: 5_000 }

type ProviderWithOptions = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentialIdentity>

function sourceWith(
  provider: ProviderWithOptions,
  clock: Clock = createFakeClock(),
  minRemainingMs = MINUTE,
) {
  return createCredentialSource({ ...BASE, credentials: provider, clock, minRemainingMs })
}

const providerError = () =>
  Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
  })

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

  it('reuses an expiring identity until 5 minutes before it expires, then waits for a new one', async () => {
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
    const source = sourceWith(provider, clock, 10 * MINUTE)
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

  it('renews before the identity becomes too short-lived to sign, and waits once it is', async () => {
    const clock = createFakeClock()
    const provider = createCountingProvider((call) => ({
      ...FAKE_IDENTITY,
      accessKeyId: `ASIA${call}`,
      expiration: new Date(clock.now() + 90_000),
    }))
    const source = sourceWith(provider, clock)
    await source.resolve()
    clock.advance(31_000)
    const identity = await source.resolve()
    expect(identity.accessKeyId).toBe('ASIA2')
    expect(identity.expiration!.getTime() - clock.now()).toBeGreaterThanOrEqual(MINUTE)
  })

  it('forces a refresh and waits for it when the provider hands back credentials too short-lived to sign', async () => {
    const clock = createFakeClock()
    const seen: unknown[] = []
    // Like the SDK's chain: the old credentials until a forced refresh, while it renews in the background.
    const source = sourceWith(async (options) => {
      seen.push(options)
      const forced = options?.forceRefresh === true
      return {
        ...FAKE_IDENTITY,
        accessKeyId: forced ? 'ASIANEW' : 'ASIAOLD',
        expiration: new Date(clock.now() + (forced ? 15 * MINUTE : 30_000)),
      }
    }, clock)
    await expect(source.resolve()).resolves.toMatchObject({ accessKeyId: 'ASIANEW' })
    expect(seen).toEqual([undefined, { forceRefresh: true }])
  })

  it('fails with a credentials error naming the expiry when even a forced refresh is too short-lived', async () => {
    const clock = createFakeClock()
    const expiration = new Date(clock.now() + 30_000)
    const source = sourceWith(async () => ({ ...FAKE_IDENTITY, expiration }), clock)
    const error = await source.resolve().catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    expect((error as Error).message).toContain(expiration.toISOString())
    expect((error as { hint: string }).hint).toContain('cache.minRemainingMs')
  })

  it('turns a provider failure into a credentials error with a fix, and tries again after a short backoff', async () => {
    const clock = createFakeClock()
    let calls = 0
    let fail = true
    const source = sourceWith(async () => {
      calls++
      if (fail) throw providerError()
      return FAKE_IDENTITY
    }, clock)
    const error = await source.resolve().catch((e: unknown) => e)
    expect(error).toMatchObject({
      name: 'RdsIamError',
      code: 'credentials',
      cause: { name: 'CredentialsProviderError' },
    })
    expect((error as Error).message).toContain('the `credentials` option')
    expect((error as { hint: string }).hint).toContain('AWS_ACCESS_KEY_ID')
    fail = false
    await expect(source.resolve()).rejects.toBe(error)
    expect(calls).toBe(1)
    clock.advance(200)
    await expect(source.resolve()).resolves.toBe(FAKE_IDENTITY)
    expect(calls).toBe(2)
  })

  it('asks a failing provider a handful of times, not once per caller, over 2 seconds of connects', async () => {
    const clock = createFakeClock()
    let calls = 0
    const source = sourceWith(async () => {
      calls++
      throw providerError()
    }, clock)
    for (let elapsed = 0; elapsed < 2_000; elapsed += 10) {
      await Promise.all([source.resolve(), source.resolve()]).catch(() => {})
      clock.advance(10)
    }
    // After 0, 200, 600 and 1400 ms of backoff.
    expect(calls).toBe(4)
  })

  it('asks a provider that stays down at most once a second, so connects recover within a second of its return', async () => {
    const clock = createFakeClock()
    let down = true
    let calls = 0
    const source = sourceWith(async () => {
      calls++
      if (down) throw providerError()
      return FAKE_IDENTITY
    }, clock)
    for (let elapsed = 0; elapsed < 10_000; elapsed += 10) {
      await source.resolve().catch(() => {})
      clock.advance(10)
    }
    // At 0, 200, 600 and 1400 ms, then every 1000 ms: 2400 to 9400.
    expect(calls).toBe(12)
    down = false
    clock.advance(1_000)
    await expect(source.resolve()).resolves.toBe(FAKE_IDENTITY)
  })

  it('serves the cached identity while the provider is down, as long as it can still sign, and tells', async () => {
    const clock = createFakeClock()
    let down = false
    const provider = createCountingProvider((call) => {
      if (down) throw providerError()
      return { ...FAKE_IDENTITY, accessKeyId: `ASIA${call}`, expiration: new Date(clock.now() + 60 * MINUTE) }
    })
    const told: [unknown, AwsCredentialIdentity][] = []
    const source = createCredentialSource({
      ...BASE,
      credentials: provider,
      clock,
      minRemainingMs: MINUTE,
      onRenewalFailed: (error, served) => told.push([error, served]),
    })
    const first = await source.resolve()
    down = true
    clock.advance(56 * MINUTE)
    for (let i = 0; i < 20; i++) {
      await expect(source.resolve()).resolves.toBe(first)
      clock.advance(5_000)
    }
    expect(told.length).toBeGreaterThan(0)
    expect(told[0]).toEqual([expect.objectContaining({ code: 'credentials' }), first])
    // 30 s left: too little to sign with, so the outage shows.
    clock.advance(first.expiration!.getTime() - 30_000 - clock.now())
    await expect(source.resolve()).rejects.toMatchObject({ code: 'credentials' })
  })

  it('refuses an identity without keys', async () => {
    const source = sourceWith(async () => ({}) as AwsCredentialIdentity)
    await expect(source.resolve()).rejects.toMatchObject({ code: 'credentials' })
  })

  it('takes a null expiration as none', async () => {
    const source = sourceWith(
      async () => ({ ...FAKE_IDENTITY, expiration: null }) as unknown as AwsCredentialIdentity,
    )
    await expect(source.resolve()).resolves.toMatchObject({ accessKeyId: FAKE_IDENTITY.accessKeyId })
  })

  it('refuses an expiration that is not a time, naming AWS_CREDENTIAL_EXPIRATION', async () => {
    for (const expiration of [new Date('tomorrow'), '2026-12-07T18:00:00Z']) {
      const source = sourceWith(async () => ({ ...FAKE_IDENTITY, expiration }) as AwsCredentialIdentity)
      await expect(source.resolve()).rejects.toMatchObject({
        code: 'credentials',
        message: expect.stringContaining('not a valid time'),
        hint: expect.stringContaining('AWS_CREDENTIAL_EXPIRATION'),
      })
    }
  })
})

describe('createCredentialSource with a static identity', () => {
  it('hands out the identity', async () => {
    const source = createCredentialSource({
      ...BASE,
      credentials: FAKE_IDENTITY,
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
    for (const name of [
      'AWS_PROFILE',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
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

  const chain = (profile?: string, clock: Clock = Date) =>
    createCredentialSource({ ...BASE, credentials: undefined, profile, clock })

  // A credential_process script, as `aws configure export-credentials` or a vault tool would be.
  function writeProcessProfile(profile: string, script: string): void {
    const path = join(dir, `${profile}.sh`)
    writeFileSync(path, `#!/bin/sh\n${script}\n`)
    chmodSync(path, 0o755)
    writeFileSync(join(dir, 'config'), `[profile ${profile}]\ncredential_process = ${path}\n`, { flag: 'a' })
  }

  it('reads environment credentials', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAENVIRONMENT')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret')
    await expect(chain().resolve()).resolves.toMatchObject({ accessKeyId: 'AKIAENVIRONMENT' })
  })

  it('reads the session token and expiration of environment credentials, and says when the expiration is no time', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAENVIRONMENT')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret')
    vi.stubEnv('AWS_SESSION_TOKEN', 'env-session')
    vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', '2099-01-01T00:00:00Z')
    await expect(chain().resolve()).resolves.toEqual({
      accessKeyId: 'ASIAENVIRONMENT',
      secretAccessKey: 'env-secret',
      sessionToken: 'env-session',
      expiration: new Date('2099-01-01T00:00:00Z'),
    })
    vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', 'end of the year')
    await expect(chain().resolve()).rejects.toMatchObject({
      code: 'credentials',
      hint: expect.stringContaining('AWS_CREDENTIAL_EXPIRATION'),
    })
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
    const provider = createCountingProvider((call) => ({
      ...FAKE_IDENTITY,
      accessKeyId: `ASIA${call}`,
      expiration: new Date(clock.now() + 10 * MINUTE),
    }))
    vi.doMock('@aws-sdk/credential-providers', () => ({
      fromNodeProviderChain: (init: unknown) => {
        created.push(init)
        return provider
      },
    }))
    vi.resetModules()
    try {
      const fresh = await import('./credentials')
      const source = fresh.createCredentialSource({
        ...BASE,
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

  it('never hands out credentials too short-lived to sign while a credential_process rotates them every 90-180 s', async () => {
    // The script and the source share a simulated clock offset, so ten minutes of rotation take no real time;
    // the SDK's own memoization runs on the real clock, as it does in production.
    let offsetSeconds = 0
    const clock = { now: () => Date.now() + offsetSeconds * 1_000 }
    writeFileSync(join(dir, 'offset'), '0')
    writeProcessProfile(
      'rotating',
      [
        `d=${dir}`,
        'n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/count"',
        'life=$((90 + (n * 37) % 91))',
        'expires=$(date -u -d @$(( $(date +%s) + $(cat "$d/offset") + life )) +%Y-%m-%dT%H:%M:%SZ)',
        'printf \'{"Version":1,"AccessKeyId":"ASIAROTATING%s","SecretAccessKey":"s","SessionToken":"t","Expiration":"%s"}\' $n $expires',
      ].join('\n'),
    )
    const source = chain('rotating', clock)
    const tooShort: string[] = []
    for (; offsetSeconds <= 600; offsetSeconds += 5) {
      writeFileSync(join(dir, 'offset'), String(offsetSeconds))
      const identity = await source.resolve()
      const lifeLeft = identity.expiration!.getTime() - clock.now()
      if (lifeLeft < MINUTE) tooShort.push(`${identity.accessKeyId} at +${offsetSeconds}s: ${lifeLeft} ms`)
    }
    expect(tooShort).toEqual([])
  })

  it('runs a credential_process once for every source of the same profile, as an IamAuth per request makes them', async () => {
    const expiration = new Date(Date.now() + 60 * MINUTE).toISOString()
    writeProcessProfile(
      'shared',
      [
        `d=${dir}`,
        'n=$(cat "$d/count" 2>/dev/null || echo 0); echo $((n+1)) > "$d/count"',
        `printf '{"Version":1,"AccessKeyId":"ASIASHARED","SecretAccessKey":"s","SessionToken":"t","Expiration":"${expiration}"}'`,
      ].join('\n'),
    )
    const identities = await Promise.all(Array.from({ length: 5 }, () => chain('shared').resolve()))
    await chain('shared').resolve()
    expect(identities.map((identity) => identity.accessKeyId)).toEqual(Array(5).fill('ASIASHARED'))
    expect(readFileSync(join(dir, 'count'), 'utf8').trim()).toBe('1')

    // Another config file is another environment: its sources do not see the first chain's credentials.
    const otherDir = mkdtempSync(join(tmpdir(), 'rds-iam-credentials-'))
    try {
      vi.stubEnv('AWS_CONFIG_FILE', join(otherDir, 'config'))
      writeFileSync(
        join(otherDir, 'config'),
        '[profile shared]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = o\n',
      )
      await expect(chain('shared').resolve()).resolves.toMatchObject({ accessKeyId: 'AKIAOTHER' })
    } finally {
      rmSync(otherDir, { recursive: true, force: true })
    }
  })

  it('keeps the message and stderr of a failing credential_process, redacted', async () => {
    writeProcessProfile(
      'vault',
      'echo "vault: session expired, run vault login (aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY)" >&2\nexit 3',
    )
    const error = await chain('vault')
      .resolve()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    const { message, hint, cause } = error as Error & { hint: string }
    expect(message).toContain('profile "vault"')
    expect(message).toContain('vault: session expired, run vault login')
    expect(hint).toContain('credential_process')
    expect((cause as Error).message).toContain('vault: session expired')
    const everything = `${message} ${hint} ${(cause as Error).message} ${(cause as Error).stack} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`
    expect(everything).not.toContain('wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY')
  })

  it.each([
    ['the profile option', 'nope', undefined, 'the `profile` option'],
    ['AWS_PROFILE', undefined, 'nope', 'AWS_PROFILE'],
  ])('names an unknown profile chosen by %s', async (_name, option, environment, from) => {
    writeFileSync(join(dir, 'config'), '[profile other]\nregion = eu-west-1\n')
    if (environment) vi.stubEnv('AWS_PROFILE', environment)
    const error = await chain(option)
      .resolve()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    expect((error as Error).message).toContain(`AWS profile "nope" (from ${from}) is in neither`)
    expect((error as Error).message).not.toMatch(/region|Could not load credentials/i)
    expect((error as { hint: string }).hint).toContain(`Check the spelling of ${from}`)
  })

  it('still says "no credentials" when no profile was chosen and the default one is missing', async () => {
    const error = await chain()
      .resolve()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'credentials' })
    expect((error as { hint: string }).hint).toContain('AWS_ACCESS_KEY_ID')
  })
})
