import { classifyError, missingCredentialsHint } from './classify-error'
import { isRdsIamError, messageOf, RdsIamError } from './errors'
import { redact } from './redact'
import type { AwsCredentialIdentity, AwsCredentialProvider, Clock } from './types'

export interface CredentialSource {
  resolve(): Promise<AwsCredentialIdentity>
}

export interface CredentialSourceOptions {
  credentials: AwsCredentialIdentity | AwsCredentialProvider | undefined
  profile: string | undefined
  clock: Clock
  // An identity is fetched again before it could only sign tokens with less life than this.
  minRemainingMs: number
}

// The SDK's own providers hand out new credentials once the old ones have less than 5 minutes left.
const SDK_REFRESH_WINDOW_MS = 5 * 60_000

// Providers may call STS, SSO or the instance metadata service, so one is created per IamAuth, concurrent callers
// share one resolution, and an identity is reused until shortly before it expires.
export function createCredentialSource(options: CredentialSourceOptions): CredentialSource {
  const { clock, profile } = options
  const refreshMarginMs = Math.max(SDK_REFRESH_WINDOW_MS, options.minRemainingMs)
  let provider: Promise<AwsCredentialProvider> | undefined
  let cached: { identity: AwsCredentialIdentity; refreshAt: number } | undefined
  let pending: Promise<AwsCredentialIdentity> | undefined

  async function fetchIdentity(): Promise<AwsCredentialIdentity> {
    try {
      provider ??= createProvider(options.credentials, profile)
      const identity = await (await provider)()
      if (typeof identity?.accessKeyId !== 'string' || typeof identity.secretAccessKey !== 'string') {
        throw new TypeError('The credential provider returned no accessKeyId and secretAccessKey.')
      }
      cached = { identity, refreshAt: refreshTime(identity, clock.now(), refreshMarginMs) }
      return identity
    } catch (error) {
      throw credentialsError(error, options)
    }
  }

  return {
    resolve() {
      if (cached && clock.now() < cached.refreshAt) return Promise.resolve(cached.identity)
      pending ??= fetchIdentity().finally(() => {
        pending = undefined
      })
      return pending
    },
  }
}

async function createProvider(
  credentials: AwsCredentialIdentity | AwsCredentialProvider | undefined,
  profile: string | undefined,
): Promise<AwsCredentialProvider> {
  if (typeof credentials === 'function') return credentials
  if (credentials) return async () => credentials
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers')
  return fromNodeProviderChain(profile === undefined ? {} : { profile })
}

// Half the remaining life bounds how often a provider that only returns short-lived credentials is asked again.
function refreshTime(identity: AwsCredentialIdentity, now: number, marginMs: number): number {
  const expiresAt = identity.expiration?.getTime()
  if (expiresAt === undefined) return Number.POSITIVE_INFINITY
  return expiresAt - Math.min(marginMs, (expiresAt - now) / 2)
}

function credentialsError(error: unknown, options: CredentialSourceOptions): RdsIamError {
  if (isRdsIamError(error)) return error
  const context = { profile: options.profile }
  const { kind, hint } = classifyError(error, context)
  return new RdsIamError(
    'credentials',
    `Could not get AWS credentials from ${describeSource(options)}: ${redact(messageOf(error))}`,
    {
      hint: kind === 'credentials' ? hint : missingCredentialsHint(context),
      cause: error,
    },
  )
}

function describeSource({ credentials, profile }: CredentialSourceOptions): string {
  if (credentials) return 'the `credentials` option'
  return profile === undefined ? 'the default provider chain' : `profile "${profile}"`
}
