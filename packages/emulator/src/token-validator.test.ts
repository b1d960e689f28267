import { Signer } from '@aws-sdk/rds-signer'
import { describe, expect, it } from 'vitest'
import { signGoStyle } from './testing/official-signers.js'
import {
  type EmulatorCredentials,
  RDS_TOKEN_RULES,
  type TokenCheck,
  validateToken,
} from './token-validator.js'

const endpoint = 'demo.cluster-abc123def456.eu-west-1.rds.amazonaws.com'
const key: EmulatorCredentials = {
  accessKeyId: 'AKIAVALIDATORTEST001',
  secretAccessKey: 'validator-test-secret',
}
const temporary: EmulatorCredentials = {
  accessKeyId: 'ASIAVALIDATORTEST002',
  secretAccessKey: 'temporary-secret',
  sessionToken: 'the-session-token',
  expiration: new Date(Date.now() + 10 * 60_000),
}

interface Signing {
  hostname?: string
  port?: number
  region?: string
  username?: string
  credentials?: EmulatorCredentials
}

function sign(signing: Signing = {}): Promise<string> {
  return new Signer({
    hostname: endpoint,
    port: 5432,
    region: 'eu-west-1',
    username: 'app',
    credentials: key,
    ...signing,
  }).getAuthToken()
}

function check(token: string, overrides: Partial<TokenCheck> = {}): ReturnType<typeof validateToken> {
  return validateToken({
    rules: RDS_TOKEN_RULES,
    token,
    user: 'app',
    host: `${endpoint}:5432`,
    region: 'eu-west-1',
    credentials: [key, temporary],
    now: Date.now(),
    maxLifetimeSeconds: 900,
    clockSkewMs: 300_000,
    ...overrides,
  })
}

function reasonOf(verdict: ReturnType<typeof validateToken>): string {
  return verdict.ok ? 'ok' : verdict.reason
}

describe('validateToken', () => {
  it('accepts a fresh token for this host, port, user and region', async () => {
    expect(check(await sign())).toEqual({ ok: true, accessKeyId: key.accessKeyId, action: 'connect' })
  })

  it('accepts a token of temporary credentials that carries their session token', async () => {
    expect(check(await sign({ credentials: temporary }))).toEqual({
      ok: true,
      accessKeyId: temporary.accessKeyId,
      action: 'connect',
    })
  })

  it('accepts host names in any case, as DNS does', async () => {
    expect(reasonOf(check(await sign({ hostname: endpoint.toUpperCase() })))).toBe('ok')
  })

  it.each<[string, Signing, string]>([
    ['another host', { hostname: 'other.cluster-abc123def456.eu-west-1.rds.amazonaws.com' }, 'host'],
    ['another port', { port: 5433 }, 'host'],
    ['another user', { username: 'admin' }, 'user-mismatch'],
    ['another region', { region: 'us-east-1' }, 'region'],
    [
      'an unknown access key',
      { credentials: { ...key, accessKeyId: 'AKIAUNKNOWNKEY000000' } },
      'unknown-key',
    ],
    ['another secret', { credentials: { ...key, secretAccessKey: 'wrong' } }, 'signature'],
    [
      'no session token for temporary credentials',
      { credentials: { ...temporary, sessionToken: '' } },
      'session-token',
    ],
    [
      'a session token for long-term credentials',
      { credentials: { ...key, sessionToken: 'x' } },
      'session-token',
    ],
  ])('refuses a token signed for %s', async (_, signing, reason) => {
    const verdict = check(await sign(signing))
    expect(reasonOf(verdict)).toBe(reason)
  })

  it('refuses a token after X-Amz-Date + 900 s, and after the lifetime the emulator was set to', async () => {
    const token = await sign()
    expect(reasonOf(check(token, { now: Date.now() + 901_000 }))).toBe('expired')
    expect(reasonOf(check(token, { now: Date.now() + 899_000 }))).toBe('ok')
    expect(reasonOf(check(token, { now: Date.now() + 11_000, maxLifetimeSeconds: 10 }))).toBe('expired')
  })

  it('refuses a token whose X-Amz-Expires was changed after signing', async () => {
    const token = (await sign()).replace('X-Amz-Expires=900', 'X-Amz-Expires=60')
    expect(reasonOf(check(token))).toBe('signature')
  })

  const goToken = (options: Parameters<typeof signGoStyle>[1]): string =>
    signGoStyle(
      { hostname: endpoint, port: 5432, region: 'eu-west-1', user: 'app', credentials: key },
      options,
    )

  it('honours an X-Amz-Expires shorter than 900 s', () => {
    const token = goToken({ expiresInSeconds: 60 })
    expect(reasonOf(check(token, { now: Date.now() + 50_000 }))).toBe('ok')
    expect(reasonOf(check(token, { now: Date.now() + 61_000 }))).toBe('expired')
  })

  it('accepts an X-Amz-Expires above 900 s but for 900 s only (the documented token life)', () => {
    const token = goToken({ expiresInSeconds: 3600 })
    expect(reasonOf(check(token, { now: Date.now() + 899_000 }))).toBe('ok')
    expect(reasonOf(check(token, { now: Date.now() + 901_000 }))).toBe('expired')
  })

  it('refuses an X-Amz-Expires above SigV4 limit of seven days as malformed', () => {
    expect(reasonOf(check(goToken({ expiresInSeconds: 604_800 })))).toBe('ok')
    expect(reasonOf(check(goToken({ expiresInSeconds: 604_801 })))).toBe('malformed')
  })

  // Signed correctly, so the form alone decides: Number() reads every one of these as 900 (or 0).
  it.each([
    ['hexadecimal', '0x384'],
    ['octal', '0o1604'],
    ['binary', '0b1110000100'],
    ['exponent', '9e2'],
    ['a plus sign', '+900'],
    ['a fraction', '900.0'],
    ['a leading space', ' 900'],
    ['a trailing space', '900 '],
    ['a tab', '\t900'],
    ['a newline', '900\n'],
    ['a leading zero', '0900'],
    ['full-width digits', '\uff19\uff10\uff10'],
    ['an underscore', '9_00'],
    ['an empty value', ''],
    ['zero', '0'],
    ['a minus sign', '-900'],
  ])('refuses an X-Amz-Expires written as %s (%j) as malformed', (_, expires) => {
    const verdict = check(goToken({ expiresInSeconds: expires }))
    expect(verdict).toMatchObject({
      ok: false,
      reason: 'malformed',
      detail: 'missing or invalid X-Amz-Expires',
    })
  })

  it('accepts X-Amz-Expires as the signers write it, in plain decimal', () => {
    for (const expires of ['1', '900', '604800']) {
      expect(reasonOf(check(goToken({ expiresInSeconds: expires })))).toBe('ok')
    }
  })

  it('accepts a token dated up to the skew ahead, living 900 s from its X-Amz-Date', () => {
    const signedAt = new Date(Date.now() + 290_000)
    const token = goToken({ signedAt })
    expect(reasonOf(check(token))).toBe('ok')
    expect(reasonOf(check(token, { now: signedAt.getTime() + 899_000 }))).toBe('ok')
    expect(reasonOf(check(token, { now: signedAt.getTime() + 901_000 }))).toBe('expired')
  })

  it('refuses a token dated further ahead than the skew as expired', () => {
    expect(reasonOf(check(goToken({ signedAt: new Date(Date.now() + 310_000) })))).toBe('expired')
  })

  it('tolerates a signer clock ahead by up to the skew, not more', async () => {
    const token = await sign()
    expect(reasonOf(check(token, { now: Date.now() - 60_000 }))).toBe('ok')
    expect(reasonOf(check(token, { now: Date.now() - 60_000, clockSkewMs: 0 }))).toBe('expired')
  })

  it('refuses a token once the credentials that signed it expired', async () => {
    const token = await sign({ credentials: temporary })
    const now = temporary.expiration!.getTime() + 1
    expect(reasonOf(check(token, { now, maxLifetimeSeconds: 900 }))).toBe('session-expired')
  })

  it('refuses a tampered signature', async () => {
    const token = await sign()
    const tampered = token.replace(
      /X-Amz-Signature=([0-9a-f]+)/,
      (_, s: string) => `X-Amz-Signature=${[...s].reverse().join('')}`,
    )
    expect(reasonOf(check(tampered))).toBe('signature')
  })

  it.each([
    ['garbage', 'not-a-token'],
    ['an empty password', ''],
    ['another action', `${endpoint}:5432/?Action=other`],
  ])('refuses %s as malformed', (_, token) => {
    expect(reasonOf(check(token))).toBe('malformed')
  })

  it('never puts the token in its explanation', async () => {
    const token = await sign({ credentials: { ...key, secretAccessKey: 'wrong' } })
    const verdict = check(token)
    expect(verdict.ok).toBe(false)
    const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(token)![1]!
    expect(JSON.stringify(verdict)).not.toContain(signature)
  })
})
