import { RdsIamError, toErrorLike } from './errors'
import type { EmitEvent } from './events'
import type { SignedToken } from './token-signer'
import type { Clock, TokenCacheOptions, TokenKey } from './types'

interface CacheEntry {
  key: TokenKey
  token?: SignedToken
  pending?: Promise<SignedToken>
}

export interface TokenCacheSettings extends Required<TokenCacheOptions> {
  clock: Clock
  emit: EmitEvent
}

export interface TokenCache {
  get(key: TokenKey, generate: () => Promise<SignedToken>): Promise<SignedToken>
  /** Drops the key's token; given the token a server rejected, only while the cache still holds that one. */
  invalidate(key: TokenKey, rejected?: SignedToken): void
}

// One store for the whole process: every IamAuth that would sign the same token shares it. Map order is
// least recently used first.
const sharedStore = new Map<string, CacheEntry>()

/**
 * Forgets every cached token of the process. Meant for tests that reuse a host and user across cases.
 * @example afterEach(() => resetTokenCacheForTesting())
 */
export function resetTokenCacheForTesting(): void {
  sharedStore.clear()
}

// Each IamAuth gets its own view of the shared store, with its own clock, margins and event sink.
export function createTokenCache(settings: TokenCacheSettings): TokenCache {
  const { clock, emit, minRemainingMs, refreshAheadMs, maxEntries } = settings

  function entryFor(key: TokenKey): CacheEntry {
    const id = cacheId(key)
    const entry = sharedStore.get(id) ?? { key }
    sharedStore.delete(id)
    sharedStore.set(id, entry)
    for (const oldest of sharedStore.keys()) {
      if (sharedStore.size <= maxEntries) break
      sharedStore.delete(oldest)
    }
    return entry
  }

  function generateInto(entry: CacheEntry, generate: () => Promise<SignedToken>, background: boolean) {
    const startedAt = clock.now()
    const pending = generate()
      .then((token) => {
        const now = clock.now()
        if (token.expiresAt - now < minRemainingMs) throw tooShortLived(token, minRemainingMs)
        entry.token = token
        const expiresAt = new Date(token.expiresAt)
        emit({ type: 'token-generated', key: entry.key, expiresAt, durationMs: now - startedAt, background })
        return token
      })
      .finally(() => {
        if (entry.pending === pending) entry.pending = undefined
      })
    entry.pending = pending
    return pending
  }

  function refreshInBackground(
    entry: CacheEntry,
    current: SignedToken,
    generate: () => Promise<SignedToken>,
  ) {
    generateInto(entry, generate, true).catch((error: unknown) => {
      emit({
        type: 'token-refresh-failed',
        key: entry.key,
        expiresAt: new Date(current.expiresAt),
        error: toErrorLike(error),
      })
    })
  }

  return {
    async get(key, generate) {
      const entry = entryFor(key)
      const current = entry.token
      const remainingMs = current ? current.expiresAt - clock.now() : 0
      if (current && remainingMs >= minRemainingMs) {
        if (remainingMs < refreshAheadMs && !current.limitedByCredentials && !entry.pending) {
          refreshInBackground(entry, current, generate)
        }
        emit({ type: 'token-reused', key, expiresAt: new Date(current.expiresAt) })
        return current
      }
      return entry.pending ?? generateInto(entry, generate, false)
    },
    invalidate(key, rejected) {
      const id = cacheId(key)
      const entry = sharedStore.get(id)
      if (!entry) return
      // Connections that failed together all report the same old token: the first one's retry already replaced it,
      // and the others must not throw that replacement (or its generation in flight) away again. Identity, not
      // text: tokens signed within the same second with the same keys are the same string.
      if (rejected !== undefined && entry.token !== rejected) return
      // Dropping the entry also orphans a generation in flight: later callers start a new one rather than share it.
      sharedStore.delete(id)
      emit({ type: 'token-invalidated', key })
    },
  }
}

function cacheId(key: TokenKey): string {
  return JSON.stringify([key.tokenHost, key.tokenPort, key.user, key.region, key.accessKeyId])
}

function tooShortLived(token: SignedToken, minRemainingMs: number): RdsIamError {
  return new RdsIamError(
    'credentials',
    `The AWS credentials expire at ${new Date(token.expiresAt).toISOString()}, too soon to sign a token with the ${minRemainingMs} ms of life a connection needs.`,
    {
      hint: 'Refresh the credentials or use a provider that returns longer-lived ones; lower cache.minRemainingMs only if connections open quickly.',
    },
  )
}
