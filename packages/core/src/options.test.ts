import { describe, expect, it } from 'vitest'
import { resolveOptions } from './options'
import { FAKE_IDENTITY, RDS_HOST } from './test-helpers'
import type { IamAuthOptions } from './types'

const base: IamAuthOptions = { host: RDS_HOST, user: 'app_user' }

function configFailure(options: unknown): unknown {
  try {
    resolveOptions(options as IamAuthOptions)
  } catch (error) {
    return error
  }
  throw new Error('resolveOptions accepted bad options')
}

describe('resolveOptions', () => {
  it('fills the defaults: port 5432, token host and port follow host and port', () => {
    const resolved = resolveOptions(base)
    expect(resolved).toMatchObject({
      host: RDS_HOST,
      port: 5432,
      user: 'app_user',
      tokenHost: RDS_HOST,
      tokenPort: 5432,
    })
    expect(resolved.cache).toEqual({ minRemainingMs: 60_000, refreshAheadMs: 300_000, maxEntries: 100 })
    expect(resolved.retry).toEqual({ maxThrottleMs: 10_000, baseDelayMs: 100 })
    expect(resolved.clock).toBe(Date)
  })

  it('keeps a token host and port that differ from what is dialed', () => {
    const resolved = resolveOptions({
      ...base,
      host: '127.0.0.1',
      port: 15432,
      tokenHost: RDS_HOST,
      tokenPort: 5432,
    })
    expect(resolved).toMatchObject({ host: '127.0.0.1', port: 15432, tokenHost: RDS_HOST, tokenPort: 5432 })
  })

  it('accepts IPv6 literals, providers, identities and partial tuning', () => {
    const provider = async () => FAKE_IDENTITY
    expect(resolveOptions({ ...base, host: '::1', credentials: provider }).credentials).toBe(provider)
    expect(resolveOptions({ ...base, credentials: FAKE_IDENTITY }).credentials).toBe(FAKE_IDENTITY)
    expect(resolveOptions({ ...base, cache: { maxEntries: 5 } }).cache.minRemainingMs).toBe(60_000)
  })

  it.each<[string, Partial<IamAuthOptions> | null]>([
    ['no options at all', null],
    ['a missing host', { host: undefined as unknown as string }],
    ['an empty host', { host: '' }],
    ['a blank user', { user: '  ' }],
    ['a missing user', { user: undefined as unknown as string }],
    ['a postgres:// URL as host', { host: `postgres://app@${RDS_HOST}:5432/app` }],
    ['an https:// URL as tokenHost', { tokenHost: `https://${RDS_HOST}` }],
    ['a host with a path', { host: `${RDS_HOST}/app` }],
    ['a host with a port', { host: `${RDS_HOST}:5432` }],
    ['a host with a space', { host: 'my db' }],
    ['port 0', { port: 0 }],
    ['port 65536', { port: 65_536 }],
    ['a fractional port', { port: 5432.5 }],
    ['a string port', { port: '5432' as unknown as number }],
    ['tokenPort NaN', { tokenPort: Number.NaN }],
    ['an empty region', { region: '' }],
    ['a region with spaces', { region: 'us east 1' }],
    ['an empty profile', { profile: '' }],
    ['credentials without a secret', { credentials: { accessKeyId: 'AKID' } as never }],
    ['credentials without an access key id', { credentials: { secretAccessKey: 'x' } as never }],
    ['credentials that are a string', { credentials: 'AKID:secret' as never }],
    ['a negative minRemainingMs', { cache: { minRemainingMs: -1 } }],
    ['an infinite refreshAheadMs', { cache: { refreshAheadMs: Number.POSITIVE_INFINITY } }],
    ['minRemainingMs of a whole token lifetime', { cache: { minRemainingMs: 900_000 } }],
    ['refreshAheadMs beyond a token lifetime', { cache: { refreshAheadMs: 1_000_000 } }],
    ['maxEntries 0', { cache: { maxEntries: 0 } }],
    ['fractional maxEntries', { cache: { maxEntries: 1.5 } }],
    ['a negative maxThrottleMs', { retry: { maxThrottleMs: -5 } }],
    ['a NaN baseDelayMs', { retry: { baseDelayMs: Number.NaN } }],
    ['a clock without now()', { clock: {} as never }],
    ['cache as a number', { cache: 42 as never }],
    ['retry as a string', { retry: 'fast' as never }],
    ['cache as an array', { cache: [] as never }],
  ])('refuses %s with a config error and a hint', (_name, override) => {
    const error = configFailure(override === null ? null : { ...base, ...override })
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'config' })
    expect((error as { hint: string }).hint.length).toBeGreaterThan(5)
  })

  it('names the offending option', () => {
    expect(configFailure({ ...base, tokenPort: 0 })).toMatchObject({
      message: expect.stringContaining('`tokenPort`'),
    })
    expect(configFailure({ ...base, cache: { maxEntries: 0 } })).toMatchObject({
      message: expect.stringContaining('`cache.maxEntries`'),
    })
  })
})

describe('resolveOptions: control characters and the credentials bound', () => {
  it.each([
    ['host', { host: `${RDS_HOST}\u0000evil.example.com` }, 'U+0000'],
    ['host', { host: `${RDS_HOST}\r\n` }, 'U+000D'],
    ['tokenHost', { tokenHost: `${RDS_HOST}\u007f` }, 'U+007F'],
    ['user', { user: 'app_user\n' }, 'U+000A'],
    ['user', { user: '\u001bapp_user' }, 'U+001B'],
  ])('refuses %s with a control character, naming it', (name, options, found) => {
    expect(configFailure({ ...base, ...options })).toMatchObject({
      code: 'config',
      message: expect.stringContaining(`\`${name}\` contains the control character ${found}.`),
    })
  })

  it('bounds credentials by 5 s unless told otherwise, and refuses a bound that is no bound', () => {
    expect(resolveOptions(base).credentialsTimeoutMs).toBe(5_000)
    expect(resolveOptions({ ...base, credentialsTimeoutMs: 250 }).credentialsTimeoutMs).toBe(250)
    for (const credentialsTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5000', 2 ** 31]) {
      expect(configFailure({ ...base, credentialsTimeoutMs })).toMatchObject({
        code: 'config',
        message: expect.stringContaining('`credentialsTimeoutMs` must be a number of milliseconds above 0'),
      })
    }
  })
})
