import { AsyncLocalStorage } from 'node:async_hooks'
import { type InspectOptions, inspect } from 'node:util'
import { createCredentialSource } from './credentials'
import { createEventEmitter } from './events'
import { resolveOptions } from './options'
import { createRegionResolver } from './region'
import { type ConnectAttempt, createRetry } from './retry'
import { resolveSsl } from './ssl'
import { createTokenCache } from './token-cache'
import { signToken } from './token-signer'
import type { IamAuth, IamAuthOptions, TokenKey } from './types'

// The connect attempt a getToken() call belongs to: drivers call the password hook deep inside their connect, and
// a rejection must drop the token that attempt used, not a newer one another connection fetched meanwhile.
const currentAttempt = new AsyncLocalStorage<ConnectAttempt>()

/** What an IamAuth shows of itself in logs: where it connects, never how it signs. */
export interface IamAuthSummary {
  host: string
  port: number
  user: string
  region: string | undefined
  tokenHost: string
  tokenPort: number
}

/**
 * The auth layer for one database endpoint and user: tokens from a process-wide cache, the TLS options for the
 * driver, and a retry for its connect. Bad options throw an `RdsIamError` here, before anything connects.
 * @example
 * const auth = createIamAuth({ host: 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com', user: 'app_user' })
 * const client = new pg.Client({ host: auth.host, port: auth.port, user: auth.user, password: auth.getToken, ssl: auth.ssl })
 * await auth.retry(() => client.connect())
 */
export function createIamAuth(options: IamAuthOptions): IamAuth {
  const resolved = resolveOptions(options)
  const { host, port, user, tokenHost, tokenPort, profile, clock } = resolved
  const emit = createEventEmitter(options.onEvent, options.logger)
  const ssl = resolveSsl(options.ssl, tokenHost, emit)
  const region = createRegionResolver({ region: resolved.region, tokenHost, profile })
  const credentials = createCredentialSource({
    credentials: resolved.credentials,
    profile,
    clock,
    minRemainingMs: resolved.cache.minRemainingMs,
  })
  const cache = createTokenCache({ ...resolved.cache, clock, emit })
  let lastKey: TokenKey | undefined

  async function getToken(): Promise<string> {
    const regionName = region.current ?? (await region.resolve())
    const identity = await credentials.resolve()
    const key: TokenKey = {
      tokenHost,
      tokenPort,
      user,
      region: regionName,
      accessKeyId: identity.accessKeyId,
    }
    lastKey = key
    const signed = await cache.get(key, () =>
      signToken({
        hostname: tokenHost,
        port: tokenPort,
        username: user,
        region: regionName,
        identity,
        signedAt: clock.now(),
      }),
    )
    const attempt = currentAttempt.getStore()
    if (attempt) attempt.token = signed
    return signed.token
  }

  function invalidate(): void {
    if (lastKey) cache.invalidate(lastKey)
  }

  function invalidateRejected(attempt: ConnectAttempt): void {
    if (lastKey) cache.invalidate(lastKey, attempt.token)
  }

  const summary = (): IamAuthSummary => ({ host, port, user, region: region.current, tokenHost, tokenPort })

  // Credentials and tokens live only in closures; what inspect and JSON.stringify show is the summary.
  const auth = {
    getToken,
    invalidate,
    get ssl() {
      return ssl()
    },
    retry: createRetry({
      ...resolved.retry,
      invalidate: invalidateRejected,
      track: (attempt, connect) => currentAttempt.run(attempt, connect),
      emit,
      context: () => ({ host, port, user, region: region.current, tokenHost, profile }),
    }),
    host,
    port,
    user,
    get region() {
      return region.current
    },
    tokenHost,
    tokenPort,
    toJSON: summary,
    [inspect.custom]: (_depth: number, inspectOptions: InspectOptions) =>
      `IamAuth ${inspect(summary(), inspectOptions)}`,
  }
  return auth
}
