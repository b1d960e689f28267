import { type InspectOptions, inspect } from 'node:util'
import { exposeAbort, exposeAttempts, type SignInAttempt } from './connect-attempt'
import { createCredentialSource } from './credentials'
import { toErrorLike } from './errors'
import { createEventEmitter } from './events'
import { identityFingerprint } from './identity-fingerprint'
import { resolveOptions } from './options'
import { createRegionResolver } from './region'
import { createRetry } from './retry'
import { resolveSsl } from './ssl'
import { createTelemetry, type TokenSource } from './telemetry/create-telemetry'
import { type CacheSlot, createTokenCache } from './token-cache'
import { type SignedToken, signToken } from './token-signer'
import type { AwsCredentialIdentity, GetTokenOptions, IamAuth, IamAuthOptions, TargetKind } from './types'

/** What an IamAuth shows of itself in logs: where it connects, never how it signs. */
export interface IamAuthSummary {
  host: string
  port: number
  user: string
  region: string | undefined
  tokenHost: string
  tokenPort: number
  target: TargetKind
}

/** A token together with the cache slot it came from, so a rejection drops exactly that token. */
interface Handout {
  slot: CacheSlot
  token: SignedToken
  source: TokenSource
}

// After a background refresh failed, the cached token keeps being served and the next refresh waits this long:
// a provider outage must not turn every connect into a provider call.
const REFRESH_BACKOFF_MS = 10_000

/**
 * The auth layer for one database endpoint and user: tokens from a process-wide cache, the TLS options for the
 * driver, and a retry for its connect. Bad options throw an `RdsIamError` here, before anything connects.
 * @example
 * const auth = createIamAuth({ host: 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com', user: 'app_user' })
 * const ssl = await auth.tls()
 * const client = await auth.retry(async (attempt) => {
 *   const client = new pg.Client({ host: auth.host, port: auth.port, user: auth.user, password: attempt.password, ssl })
 *   await client.connect()
 *   return client
 * })
 */
export function createIamAuth(options: IamAuthOptions): IamAuth {
  const resolved = resolveOptions(options)
  const { host, port, user, tokenUser, tokenHost, tokenPort, profile, clock, target, tokenKind } = resolved
  const { refreshAheadMs } = resolved.cache
  const observed = options.onEvent !== undefined || options.logger !== undefined
  const telemetry = createTelemetry(() => ({
    ...resolved,
    database: options.database,
    sslMode: tls.mode,
    region: () => region.current,
  }))
  const emit = telemetry.observe(createEventEmitter(options.onEvent, options.logger))
  const tls = resolveSsl(options.ssl, tokenHost, emit, target)
  // The slot of the last token this auth handed out: the fast path looks only there.
  let current: CacheSlot | undefined
  const region = createRegionResolver({ region: resolved.region, tokenHost, profile, target })
  const credentials = createCredentialSource({
    credentials: resolved.credentials,
    profile,
    clock,
    timeoutMs: resolved.credentialsTimeoutMs,
    minRemainingMs: resolved.cache.minRemainingMs,
    // An identity that can still sign is served while its renewal fails; the failure is still worth telling.
    onRenewalFailed: (error, servedInstead) => {
      if (current) reportRefreshFailure(current, servedInstead.expiration?.getTime() ?? clock.now(), error)
    },
  })
  const cache = createTokenCache({ ...resolved.cache, clock, emit })
  let refreshing = false
  let refreshAfter = 0

  // The token still served is good until `expiresAt`; what failed is making the next one.
  function reportRefreshFailure(slot: CacheSlot, expiresAt: number, error: unknown): void {
    emit({
      type: 'token-refresh-failed',
      key: slot.key,
      expiresAt: new Date(expiresAt),
      error: toErrorLike(error),
    })
  }

  // The fingerprint of the identity the current slot was made for: a changed secret or session token needs another.
  let currentFingerprint: string | undefined

  function slotFor(regionName: string, identity: AwsCredentialIdentity): CacheSlot {
    const fingerprint = identityFingerprint(identity)
    const { key } = current ?? {}
    const same =
      key !== undefined &&
      key.region === regionName &&
      key.accessKeyId === identity.accessKeyId &&
      fingerprint === currentFingerprint
    if (same && current) return current
    currentFingerprint = fingerprint
    const { action, lifetimeSeconds } = tokenKind
    const { accessKeyId } = identity
    const tokenKey = {
      tokenHost,
      tokenPort,
      user: tokenUser,
      action,
      lifetimeSeconds,
      region: regionName,
      accessKeyId,
    }
    return cache.slot(tokenKey, fingerprint)
  }

  // `waitMs`: what is left of the caller's connect timeout, the most it waits for credentials.
  async function signFor(background: boolean, waitMs?: number): Promise<Handout> {
    const regionName = region.current ?? (await region.resolve())
    const identity = await credentials.resolve(waitMs)
    const slot = slotFor(regionName, identity)
    const cached = background ? undefined : cache.peek(slot)
    const generate = async (): Promise<SignedToken> =>
      signToken({ kind: tokenKind, region: regionName, identity, signedAt: clock.now() })
    const token = await (background ? cache.refresh(slot, generate) : cache.get(slot, generate))
    current = slot
    return { slot, token, source: token === cached ? 'cache' : 'signed' }
  }

  function refreshInBackground(slot: CacheSlot, served: SignedToken): void {
    refreshing = true
    signFor(true)
      .then((fresh) => {
        // Credentials that end sooner than the served token cannot make a better one: wait before signing again.
        if (fresh.token.expiresAt <= served.expiresAt) refreshAfter = clock.now() + REFRESH_BACKOFF_MS
      })
      .catch((error: unknown) => {
        refreshAfter = clock.now() + REFRESH_BACKOFF_MS
        reportRefreshFailure(slot, served.expiresAt, error)
      })
      .finally(() => {
        refreshing = false
      })
  }

  // The cached token needs no credentials, no region and no key: a provider outage does not touch it.
  const handOut = telemetry.traceHandout(handOutToken)
  function handOutToken(waitMs?: number): Handout | Promise<Handout> {
    const slot = current
    const token = slot && cache.peek(slot)
    if (!slot || !token) return signFor(false, waitMs)
    const now = clock.now()
    if (token.expiresAt - now < refreshAheadMs && !refreshing && now >= refreshAfter) {
      refreshInBackground(slot, token)
    }
    if (observed) emit({ type: 'token-reused', key: slot.key, expiresAt: new Date(token.expiresAt) })
    return { slot, token, source: 'cache' }
  }

  async function getToken(options: GetTokenOptions = {}): Promise<string> {
    return (await handOut(options.timeoutMs)).token.token
  }

  function startAttempt(remainingMs: () => number | undefined): SignInAttempt {
    let used: Handout | undefined
    // The password hook's wait for a token that needs credentials first, and how to end that wait early.
    let waiting: { since: number; fail: (error: unknown) => void } | undefined
    const waitedMs = (since: number): number => performance.now() - since
    return exposeAbort({
      attempt: {
        password: () => {
          const handout = handOut(remainingMs())
          if (!(handout instanceof Promise)) {
            used = handout
            return Promise.resolve(handout.token.token)
          }
          return new Promise<string>((resolve, reject) => {
            const wait = { since: performance.now(), fail: reject }
            waiting = wait
            handout
              .then((fresh) => {
                used = fresh
                resolve(fresh.token.token)
              }, reject)
              .finally(() => {
                if (waiting === wait) waiting = undefined
              })
          })
        },
        remainingMs,
      },
      invalidateToken: () => {
        if (used) cache.invalidate(used.slot, used.token)
      },
      failedWhileWaiting: (cause) =>
        waiting && credentials.waitError({ kind: 'ended', waitedMs: waitedMs(waiting.since), cause }),
      signIn: telemetry.traceSignIn,
      abort: () => {
        const wait = waiting
        if (!wait) return
        waiting = undefined
        credentials.waitError({ kind: 'closed', waitedMs: waitedMs(wait.since) }).then(wait.fail)
      },
    })
  }

  const summary = (): IamAuthSummary => ({
    host,
    port,
    user,
    region: region.current,
    tokenHost,
    tokenPort,
    target: target.kind,
  })

  // Credentials and tokens live only in closures; what inspect and JSON.stringify show is the summary.
  const auth = {
    getToken,
    invalidate: () => {
      if (current) cache.invalidate(current)
    },
    tls: () => tls.options(),
    sslMode: tls.mode,
    retry: createRetry({
      ...resolved.retry,
      startAttempt,
      emit,
      context: () => ({
        host,
        port,
        user,
        region: region.current,
        tokenHost,
        tokenPort: options.tokenPort,
        profile,
        target: target.kind,
        tokenAction: tokenKind.action,
      }),
    }),
    host,
    port,
    user,
    get region() {
      return region.current
    },
    tokenHost,
    tokenPort,
    target: target.kind,
    poolMaxLifetimeSeconds: target.poolMaxLifetimeSeconds,
    toJSON: summary,
    [inspect.custom]: (_depth: number, inspectOptions: InspectOptions) =>
      `IamAuth ${inspect(summary(), inspectOptions)}`,
  }
  auth.retry = telemetry.traceRetry(auth.retry)
  exposeAttempts(auth, startAttempt)
  return auth
}
