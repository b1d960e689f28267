import { credentialsTooShortLived } from './credentials'
import type { EmitEvent } from './events'
import type { SignedToken } from './token-signer'
import type { Clock, TokenCacheOptions, TokenKey } from './types'

/**
 * A key together with its serialised form, computed once rather than on every lookup. The form includes the
 * fingerprint of the secret key and session token, which the key (shown in events) leaves out.
 */
export interface CacheSlot {
  readonly key: TokenKey
  readonly id: string
}

interface CacheEntry {
  token?: SignedToken
  pending?: Promise<SignedToken>
  // Bumped by invalidate, so a generation that started before a rejection never lands in the entry.
  epoch: number
}

interface TokenStore {
  entries: Map<string, CacheEntry>
  // The store belongs to the process, so its size is the largest any IamAuth asked for: one auth with a small
  // limit must not evict the tokens of others.
  maxEntries: number
}

export interface TokenCacheSettings extends Required<TokenCacheOptions> {
  clock: Clock
  emit: EmitEvent
}

export interface TokenCache {
  slot(key: TokenKey, fingerprint: string): CacheSlot
  /** The slot's token when it can be handed out now; no waiting, no events. */
  peek(slot: CacheSlot): SignedToken | undefined
  /** A usable token: the cached one, else one generation shared by every concurrent caller. */
  get(slot: CacheSlot, generate: () => Promise<SignedToken>): Promise<SignedToken>
  /** A new token even though the cached one is still usable; joins a generation already under way. */
  refresh(slot: CacheSlot, generate: () => Promise<SignedToken>): Promise<SignedToken>
  /** Drops the slot's token; given the token a server rejected, only while the cache still holds that one. */
  invalidate(slot: CacheSlot, rejected?: SignedToken): void
}

// One store for the whole process, on globalThis so that the ESM and CommonJS builds of core (an application can
// load both through different dependencies) share it. The version in the name changes with the entry's shape.
const STORE = Symbol.for('@rds-iam/core:token-store:v1')

function sharedStore(): TokenStore {
  const holder = globalThis as { [STORE]?: TokenStore }
  holder[STORE] ??= { entries: new Map(), maxEntries: 0 }
  return holder[STORE]
}

/**
 * Forgets every cached token of the process. Meant for tests that reuse a host and user across cases.
 * @example afterEach(() => resetTokenCacheForTesting())
 */
export function resetTokenCacheForTesting(): void {
  const store = sharedStore()
  store.entries.clear()
  store.maxEntries = 0
}

// Each IamAuth gets its own view of the shared store, with its own clock, margins and event sink. Map order is
// the order of last generation: a hot token is never touched on the fast path, so eviction drops the key that
// was signed least recently, and at worst costs the evicted key one more signature.
export function createTokenCache(settings: TokenCacheSettings): TokenCache {
  const { clock, emit, minRemainingMs } = settings
  const store = sharedStore()
  store.maxEntries = Math.max(store.maxEntries, settings.maxEntries)

  function entryFor(slot: CacheSlot): CacheEntry {
    const existing = store.entries.get(slot.id)
    if (existing) return existing
    const entry: CacheEntry = { epoch: 0 }
    store.entries.set(slot.id, entry)
    for (const oldest of store.entries.keys()) {
      if (store.entries.size <= store.maxEntries) break
      store.entries.delete(oldest)
    }
    return entry
  }

  function usable(token: SignedToken | undefined): token is SignedToken {
    return token !== undefined && token.expiresAt - clock.now() >= minRemainingMs
  }

  function generateInto(
    slot: CacheSlot,
    entry: CacheEntry,
    generate: () => Promise<SignedToken>,
    background: boolean,
  ): Promise<SignedToken> {
    const startedAt = clock.now()
    const { epoch } = entry
    const pending = generate()
      .then((token) => {
        const now = clock.now()
        if (token.expiresAt - now < minRemainingMs)
          throw credentialsTooShortLived(token.expiresAt, minRemainingMs, false)
        if (entry.epoch === epoch) {
          entry.token = token
          // Re-inserted last: the order of the map is the order of generation.
          store.entries.delete(slot.id)
          store.entries.set(slot.id, entry)
        }
        const expiresAt = new Date(token.expiresAt)
        emit({ type: 'token-generated', key: slot.key, expiresAt, durationMs: now - startedAt, background })
        return token
      })
      .finally(() => {
        if (entry.pending === pending) entry.pending = undefined
      })
    entry.pending = pending
    return pending
  }

  return {
    slot: (key, fingerprint) => ({ key, id: cacheId(key, fingerprint) }),
    peek(slot) {
      const token = store.entries.get(slot.id)?.token
      return usable(token) ? token : undefined
    },
    get(slot, generate) {
      const entry = entryFor(slot)
      if (usable(entry.token)) return Promise.resolve(entry.token)
      return entry.pending ?? generateInto(slot, entry, generate, false)
    },
    refresh(slot, generate) {
      const entry = entryFor(slot)
      return entry.pending ?? generateInto(slot, entry, generate, true)
    },
    invalidate(slot, rejected) {
      const entry = store.entries.get(slot.id)
      if (!entry) return
      // Connections that failed together all report the same old token: the first one's retry already replaced it,
      // and the others must not throw that replacement (or its generation in flight) away again. Identity, not
      // text: tokens signed within the same second with the same keys are the same string.
      if (rejected !== undefined && entry.token !== rejected) return
      entry.token = undefined
      entry.pending = undefined
      entry.epoch++
      emit({ type: 'token-invalidated', key: slot.key })
    },
  }
}

function cacheId(key: TokenKey, fingerprint: string): string {
  const { tokenHost, tokenPort, user, action, lifetimeSeconds, region, accessKeyId } = key
  return JSON.stringify([
    tokenHost,
    tokenPort,
    user,
    action,
    lifetimeSeconds,
    region,
    accessKeyId,
    fingerprint,
  ])
}
