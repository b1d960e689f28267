import { beforeEach, describe, expect, it } from 'vitest'
import { collectEvents, createFakeClock, deferred, eventsOfType, type FakeClock } from './test-helpers'
import { createTokenCache, resetTokenCacheForTesting, type TokenCache } from './token-cache'
import type { SignedToken } from './token-signer'
import type { IamEvent, TokenKey } from './types'

const MINUTE = 60_000
const LIFETIME = 15 * MINUTE
const key: TokenKey = {
  tokenHost: 'db.example.com',
  tokenPort: 5432,
  user: 'app',
  region: 'us-east-1',
  accessKeyId: 'AKID',
  action: 'connect',
  lifetimeSeconds: 900,
}

interface Harness {
  clock: FakeClock
  events: IamEvent[]
  cache: TokenCache
  /** The token text a caller receives. */
  get: (key: TokenKey, generate: () => Promise<SignedToken>) => Promise<string>
  generations: () => number
  generate: () => Promise<SignedToken>
}

// Each generated token is numbered, so tests can tell which generation a caller received.
function harness(
  options: { maxEntries?: number; lifetime?: (now: number) => Partial<SignedToken> } = {},
): Harness {
  const clock = createFakeClock()
  const { events, onEvent } = collectEvents()
  let count = 0
  const generate = async (): Promise<SignedToken> => {
    count++
    return {
      token: `token-${count}`,
      expiresAt: clock.now() + LIFETIME,
      ...options.lifetime?.(clock.now()),
    }
  }
  const cache = createTokenCache({
    clock,
    emit: onEvent,
    minRemainingMs: MINUTE,
    refreshAheadMs: 5 * MINUTE,
    maxEntries: options.maxEntries ?? 100,
  })
  const get = (key: TokenKey, generateWith: () => Promise<SignedToken>): Promise<string> =>
    cache.get(cache.slot(key, 'fingerprint'), generateWith).then((signed) => signed.token)
  return { clock, events, cache, get, generations: () => count, generate }
}

beforeEach(() => resetTokenCacheForTesting())

describe('token cache', () => {
  it('makes exactly one token for 100 concurrent callers on a cold cache', async () => {
    const h = harness()
    const tokens = await Promise.all(Array.from({ length: 100 }, () => h.get(key, h.generate)))
    expect(h.generations()).toBe(1)
    expect(new Set(tokens)).toEqual(new Set(['token-1']))
    expect(eventsOfType(h.events, 'token-generated')).toEqual([
      {
        type: 'token-generated',
        key,
        expiresAt: new Date(h.clock.now() + LIFETIME),
        durationMs: 0,
        background: false,
      },
    ])
  })

  it('reuses the token while it has at least minRemainingMs left, without events', async () => {
    const h = harness()
    await h.get(key, h.generate)
    h.clock.advance(LIFETIME - MINUTE)
    await expect(h.get(key, h.generate)).resolves.toBe('token-1')
    expect(h.cache.peek(h.cache.slot(key, 'fingerprint'))?.token).toBe('token-1')
    expect(h.generations()).toBe(1)
    expect(h.events.map((event) => event.type)).toEqual(['token-generated'])
  })

  it('never hands out a token with less than minRemainingMs left', async () => {
    const h = harness()
    await h.get(key, h.generate)
    h.clock.advance(LIFETIME - MINUTE + 1)
    expect(h.cache.peek(h.cache.slot(key, 'fingerprint'))).toBeUndefined()
    await expect(h.get(key, h.generate)).resolves.toBe('token-2')
  })

  it('refresh() makes a new token while the old one is still usable, once for concurrent callers', async () => {
    const h = harness()
    const slot = h.cache.slot(key, 'fingerprint')
    await h.get(key, h.generate)
    const refreshes = await Promise.all([
      h.cache.refresh(slot, h.generate),
      h.cache.refresh(slot, h.generate),
    ])
    expect(refreshes.map((signed) => signed.token)).toEqual(['token-2', 'token-2'])
    await expect(h.get(key, h.generate)).resolves.toBe('token-2')
    expect(eventsOfType(h.events, 'token-generated').map((e) => e.background)).toEqual([false, true])
  })

  it('keeps the usable token when a refresh fails', async () => {
    const h = harness()
    await h.get(key, h.generate)
    const failing = async (): Promise<SignedToken> => {
      throw new Error('network down')
    }
    await expect(h.cache.refresh(h.cache.slot(key, 'fingerprint'), failing)).rejects.toThrow('network down')
    await expect(h.get(key, h.generate)).resolves.toBe('token-1')
  })

  it('refuses a new token that would already be too short to use', async () => {
    const h = harness({ lifetime: (now) => ({ expiresAt: now + 30_000 }) })
    await expect(h.get(key, h.generate)).rejects.toMatchObject({
      name: 'RdsIamError',
      code: 'credentials',
    })
    await expect(h.get(key, h.generate)).rejects.toMatchObject({ code: 'credentials' })
    expect(h.generations()).toBe(2)
  })

  it('fails every waiting caller when a generation fails, and tries again on the next call', async () => {
    const h = harness()
    const gate = deferred<SignedToken>()
    const waiting = Array.from({ length: 5 }, () => h.get(key, () => gate.promise))
    gate.reject(new Error('no credentials'))
    for (const result of await Promise.allSettled(waiting)) expect(result.status).toBe('rejected')
    await expect(h.get(key, h.generate)).resolves.toBe('token-1')
  })

  it('invalidate() drops the token, so the next caller gets a new one', async () => {
    const h = harness()
    await h.get(key, h.generate)
    h.cache.invalidate(h.cache.slot(key, 'fingerprint'))
    await expect(h.get(key, h.generate)).resolves.toBe('token-2')
    expect(eventsOfType(h.events, 'token-invalidated')).toEqual([{ type: 'token-invalidated', key }])
    h.cache.invalidate(h.cache.slot({ ...key, user: 'nobody' }, 'fingerprint'))
    expect(eventsOfType(h.events, 'token-invalidated')).toHaveLength(1)
  })

  it('given the rejected token, drops it only while it is still the cached one', async () => {
    const h = harness()
    const rejected = await h.cache.get(h.cache.slot(key, 'fingerprint'), h.generate)
    h.cache.invalidate(h.cache.slot(key, 'fingerprint'), rejected)
    const replacement = await h.get(key, h.generate)
    h.cache.invalidate(h.cache.slot(key, 'fingerprint'), rejected)
    await expect(h.get(key, h.generate)).resolves.toBe(replacement)
    expect(eventsOfType(h.events, 'token-invalidated')).toHaveLength(1)
    expect(h.generations()).toBe(2)
  })

  it('given the rejected token, keeps a replacement that is still being generated', async () => {
    const h = harness()
    const rejected = await h.cache.get(h.cache.slot(key, 'fingerprint'), h.generate)
    h.cache.invalidate(h.cache.slot(key, 'fingerprint'), rejected)
    const gate = deferred<SignedToken>()
    const replacement = h.get(key, () => gate.promise)
    h.cache.invalidate(h.cache.slot(key, 'fingerprint'), rejected)
    const waiting = h.get(key, h.generate)
    gate.resolve({ token: 'replacement', expiresAt: h.clock.now() + LIFETIME })
    await expect(Promise.all([replacement, waiting])).resolves.toEqual(['replacement', 'replacement'])
  })

  it('after invalidate(), no caller shares a generation that was already in flight', async () => {
    const h = harness()
    const gate = deferred<SignedToken>()
    const early = h.get(key, () => gate.promise)
    h.cache.invalidate(h.cache.slot(key, 'fingerprint'))
    const late = h.get(key, h.generate)
    gate.resolve({ token: 'in-flight', expiresAt: h.clock.now() + LIFETIME })
    await expect(early).resolves.toBe('in-flight')
    await expect(late).resolves.toBe('token-1')
    await expect(h.get(key, h.generate)).resolves.toBe('token-1')
  })

  it('is one cache for the whole process: views with the same key share a token', async () => {
    const a = harness()
    const b = harness()
    await a.get(key, a.generate)
    await expect(b.get(key, b.generate)).resolves.toBe('token-1')
    expect(b.generations()).toBe(0)
    await expect(b.get({ ...key, accessKeyId: 'OTHER' }, b.generate)).resolves.toBe('token-1')
    expect(b.generations()).toBe(1)
  })

  it.each<[string, Partial<TokenKey>]>([
    ['token host', { tokenHost: 'other.example.com' }],
    ['token port', { tokenPort: 5433 }],
    ['user', { user: 'other' }],
    ['region', { region: 'eu-west-1' }],
    ['access key id', { accessKeyId: 'AKID2' }],
  ])('keys tokens by %s', async (_name, change) => {
    const h = harness()
    await h.get(key, h.generate)
    await expect(h.get({ ...key, ...change }, h.generate)).resolves.toBe('token-2')
  })

  it('keeps at most maxEntries tokens, dropping the one signed least recently', async () => {
    const h = harness({ maxEntries: 2 })
    const keyA = { ...key, user: 'a' }
    const keyB = { ...key, user: 'b' }
    const keyC = { ...key, user: 'c' }
    await h.get(keyA, h.generate)
    await h.get(keyB, h.generate)
    await h.get(keyC, h.generate)
    expect(h.generations()).toBe(3)
    await expect(h.get(keyC, h.generate)).resolves.toBe('token-3')
    await expect(h.get(keyB, h.generate)).resolves.toBe('token-2')
    await expect(h.get(keyA, h.generate)).resolves.toBe('token-4')
  })

  it('obeys the largest limit any view asked for: a small one does not evict the tokens of others', async () => {
    const roomy = harness({ maxEntries: 10 })
    const tight = harness({ maxEntries: 1 })
    await roomy.get({ ...key, user: 'a' }, roomy.generate)
    await roomy.get({ ...key, user: 'b' }, roomy.generate)
    await tight.get({ ...key, user: 'c' }, tight.generate)
    await expect(roomy.get({ ...key, user: 'a' }, roomy.generate)).resolves.toBe('token-1')
    expect(roomy.generations()).toBe(2)
  })

  it('lives on globalThis, so a second copy of core (ESM beside CommonJS) shares it', async () => {
    const h = harness()
    await h.get(key, h.generate)
    const store = (globalThis as Record<symbol, { entries: Map<string, unknown> } | undefined>)[
      Symbol.for('@rds-iam/core:token-store:v1')
    ]
    expect(store?.entries.size).toBe(1)
  })
})
