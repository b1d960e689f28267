import { chosenProfile } from './aws-profile'
import { classifyError, missingCredentialsHint } from './classify-error'
import { sharedDefaultChain } from './credential-chain'
import { type CredentialWait, credentialWaitError } from './credential-wait'
import { isRdsIamError, messageOf, RdsIamError } from './errors'
import { redact } from './redact'
import type { AwsCredentialIdentity, AwsCredentialProvider, Clock } from './types'
import { withinTimeout } from './within-timeout'

export interface CredentialSource {
  /**
   * An identity that can sign a token with at least `minRemainingMs` of life. Asks the provider (and waits for
   * it) only when the cached identity is due for renewal; while renewing fails, the cached identity is returned as
   * long as it can still sign, and the provider is asked again only after a backoff. Waits at most `timeoutMs`
   * for the provider, and at most `waitMs` when given: a caller's connect timeout.
   */
  resolve(waitMs?: number): Promise<AwsCredentialIdentity>
  /** The `credentials` error for a wait of a caller that got no credentials, naming where they come from. */
  waitError(wait: CredentialWait): Promise<RdsIamError>
}

export interface CredentialSourceOptions {
  credentials: AwsCredentialIdentity | AwsCredentialProvider | undefined
  profile: string | undefined
  clock: Clock
  // The most time one request to the provider may take before its callers fail: iam.credentialsTimeoutMs.
  timeoutMs: number
  // An identity is fetched again before it could only sign tokens with less life than this.
  minRemainingMs: number
  // Told when renewing failed and the identity still held was handed out instead, so an outage is seen before
  // that identity runs out.
  onRenewalFailed?: (error: RdsIamError, servedInstead: AwsCredentialIdentity) => void
}

// The SDK's own providers hand out new credentials once the old ones have less than 5 minutes left.
const SDK_REFRESH_WINDOW_MS = 5 * 60_000
// A provider that keeps failing is asked again after 200 ms, 400 ms, ... up to once a second: connects recover within
// a second of the provider's return, and a burst of connects still does not hammer STS, SSO or a credential process.
const FIRST_BACKOFF_MS = 200
const MAX_BACKOFF_MS = 1_000

interface CachedIdentity {
  identity: AwsCredentialIdentity
  refreshAt: number
}

interface Failure {
  error: RdsIamError
  count: number
  retryAt: number
}

// Providers may call STS, SSO or the instance metadata service, so concurrent callers share one resolution, an
// identity is reused until shortly before it can no longer sign, and failures back off. The default chain is
// shared by every IamAuth of the same profile and environment.
export function createCredentialSource(options: CredentialSourceOptions): CredentialSource {
  const { clock, minRemainingMs, timeoutMs } = options
  const refreshMarginMs = Math.max(SDK_REFRESH_WINDOW_MS, minRemainingMs)
  let provider: Promise<AwsCredentialProvider> | undefined
  let cached: CachedIdentity | undefined
  let pending: Promise<AwsCredentialIdentity> | undefined
  let failure: Failure | undefined

  const canSign = (identity: AwsCredentialIdentity): boolean =>
    credentialsEnd(identity) - clock.now() >= minRemainingMs
  const waitError = (wait: CredentialWait): Promise<RdsIamError> => credentialWaitError(options, wait)

  async function askProvider(): Promise<AwsCredentialIdentity> {
    provider ??= createProvider(options)
    const resolved = await provider
    const identity = checkIdentity(await resolved())
    if (canSign(identity)) return identity
    // The SDK's chain hands back the credentials it is replacing in the background until the new ones arrive;
    // a forced refresh waits for them.
    const refreshed = checkIdentity(await resolved({ forceRefresh: true }))
    if (!canSign(refreshed)) throw credentialsTooShortLived(credentialsEnd(refreshed), minRemainingMs, true)
    return refreshed
  }

  // Also for an answer that comes after its callers gave up on it: the next connect uses it without asking again.
  // An answer older than the identity held (a hung request that finally returns) does not replace it.
  function adopt(identity: AwsCredentialIdentity): void {
    if (cached && credentialsEnd(cached.identity) > credentialsEnd(identity)) return
    cached = { identity, refreshAt: refreshTime(identity, clock.now(), refreshMarginMs, minRemainingMs) }
    failure = undefined
  }

  async function fetchIdentity(): Promise<AwsCredentialIdentity> {
    const answer = askProvider()
    answer.then(adopt, () => {})
    try {
      // A provider that never answers fails this fetch, not every fetch after it: the next one asks again.
      return await withinTimeout(answer, timeoutMs, () => waitError({ kind: 'bound', waitedMs: timeoutMs }))
    } catch (error) {
      const count = (failure?.count ?? 0) + 1
      const retryAt = clock.now() + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (count - 1))
      failure = { error: credentialsError(error, options), count, retryAt }
      throw failure.error
    } finally {
      // Cleared before callers see the result, so none joins a fetch whose identity was checked at an older time.
      pending = undefined
    }
  }

  function refresh(waitMs: number | undefined): Promise<AwsCredentialIdentity> {
    pending ??= fetchIdentity()
    if (waitMs === undefined || waitMs >= timeoutMs) return pending
    const bound = Math.max(1, waitMs)
    return withinTimeout(pending, bound, () => waitError({ kind: 'connect-timeout', waitedMs: bound }))
  }

  return {
    waitError,
    resolve(waitMs) {
      const now = clock.now()
      if (cached && now < cached.refreshAt) return Promise.resolve(cached.identity)
      const usable = cached && canSign(cached.identity) ? cached.identity : undefined
      if (failure && now < failure.retryAt) {
        return usable ? Promise.resolve(usable) : Promise.reject(failure.error)
      }
      if (!usable) return refresh(waitMs)
      // While the provider fails, an identity that can still sign keeps connects working; the failure is told.
      return refresh(waitMs).catch((error: RdsIamError) => {
        if (!canSign(usable)) throw error
        options.onRenewalFailed?.(error, usable)
        return usable
      })
    },
  }
}

function createProvider(options: CredentialSourceOptions): Promise<AwsCredentialProvider> {
  const { credentials } = options
  // A user's provider that takes no options ignores `forceRefresh`; the SDK's honour it.
  if (typeof credentials === 'function') return Promise.resolve(credentials)
  if (credentials) return Promise.resolve(async () => credentials)
  return sharedDefaultChain(options.profile)
}

function checkIdentity(identity: AwsCredentialIdentity | undefined): AwsCredentialIdentity {
  if (typeof identity?.accessKeyId !== 'string' || typeof identity.secretAccessKey !== 'string') {
    throw new TypeError('The credential provider returned no accessKeyId and secretAccessKey.')
  }
  // An unreadable AWS_CREDENTIAL_EXPIRATION becomes an Invalid Date, whose NaN would fail every later check
  // with a message about something else.
  const { expiration } = identity
  const given = expiration !== undefined && expiration !== null
  if (given && !(expiration instanceof Date && Number.isFinite(expiration.getTime()))) {
    throw new RdsIamError(
      'credentials',
      'The AWS credentials carry an expiration that is not a valid time.',
      {
        hint: 'Set AWS_CREDENTIAL_EXPIRATION (or the `expiration` your credentials provider returns) to a time such as 2026-12-07T18:00:00Z, or leave it out for keys that do not expire.',
      },
    )
  }
  return identity
}

/** When `identity` can no longer sign: never, for keys without an expiration. */
export function credentialsEnd(identity: AwsCredentialIdentity): number {
  return identity.expiration?.getTime() ?? Number.POSITIVE_INFINITY
}

// Renewal starts no later than the moment the identity stops being able to sign, and otherwise within the SDK's
// window, but after at most half the remaining life, so a provider that only has short-lived credentials is not
// asked on every call. Keys that never expire give Infinity.
function refreshTime(
  identity: AwsCredentialIdentity,
  now: number,
  marginMs: number,
  minRemainingMs: number,
): number {
  const expiresAt = credentialsEnd(identity)
  return expiresAt - Math.max(minRemainingMs, Math.min(marginMs, (expiresAt - now) / 2))
}

/**
 * The error for credentials that end too soon to sign a token a connection can use: the provider's (after a
 * forced refresh), or those a token was just signed with.
 */
export function credentialsTooShortLived(
  expiresAt: number,
  minRemainingMs: number,
  afterForcedRefresh: boolean,
): RdsIamError {
  const when = afterForcedRefresh ? ' even after a forced refresh' : ''
  return new RdsIamError(
    'credentials',
    `The AWS credentials expire at ${new Date(expiresAt).toISOString()}${when}, too soon to sign a token with the ${minRemainingMs} ms of life a connection needs.`,
    {
      hint: 'Refresh the credentials or use a provider whose credentials live longer than cache.minRemainingMs (role sessions of 15 minutes or more); lower cache.minRemainingMs only if connections open quickly.',
    },
  )
}

function credentialsError(error: unknown, options: CredentialSourceOptions): RdsIamError {
  if (isRdsIamError(error)) return error
  const chosen = chosenProfile(options.profile)
  const context = { profile: chosen?.name }
  const { kind, hint } = classifyError(error, context)
  const source = options.credentials
    ? 'the `credentials` option'
    : chosen
      ? `profile "${chosen.name}" (${chosen.from})`
      : 'the default provider chain'
  return new RdsIamError(
    'credentials',
    `Could not get AWS credentials from ${source}: ${redact(messageOf(error))}`,
    {
      hint: kind === 'credentials' ? hint : missingCredentialsHint(context),
      cause: error,
    },
  )
}
