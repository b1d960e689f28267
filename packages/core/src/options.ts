import { isIP } from 'node:net'
import { firstControlCharacter } from './control-characters'
import { configError } from './errors'
import { EXAMPLE_ENDPOINT } from './region'
import { sessionUserOf } from './session-user'
import { resolveTarget } from './targets/resolve-target'
import type { Target, TokenKind } from './targets/target'
import type {
  AwsCredentialIdentity,
  AwsCredentialProvider,
  Clock,
  IamAuthOptions,
  RetryOptions,
  TokenCacheOptions,
} from './types'

export interface ResolvedOptions {
  host: string
  port: number
  user: string
  /** The role the session becomes (PostgreSQL keeps a user's first 63 bytes), which the token must name. */
  tokenUser: string
  tokenHost: string
  tokenPort: number
  target: Target
  /** What every token of this auth is signed as. */
  tokenKind: TokenKind
  region: string | undefined
  profile: string | undefined
  credentials: AwsCredentialIdentity | AwsCredentialProvider | undefined
  credentialsTimeoutMs: number
  cache: Required<TokenCacheOptions>
  retry: Required<RetryOptions>
  clock: Clock
}

const DEFAULT_PORT = 5432
// Long enough for the SDK's own timeouts (1 s per request to the instance metadata service or a container
// endpoint) and a credential_process that signs in to a vault; short enough that a hung source fails a connect
// in seconds rather than never.
const DEFAULT_CREDENTIALS_TIMEOUT_MS = 5_000
const DEFAULT_CACHE: Required<TokenCacheOptions> = {
  minRemainingMs: 60_000,
  refreshAheadMs: 300_000,
  maxEntries: 100,
}
const DEFAULT_RETRY: Required<RetryOptions> = { maxThrottleMs: 10_000, baseDelayMs: 100 }
// Node's timers take at most 2^31 - 1 ms and fire at once for more.
const MAX_TIMER_MS = 2 ** 31 - 1
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const REGION_NAME = /^[a-z0-9-]+$/

// Every problem is reported before anything connects, naming the option and a value that works.
export function resolveOptions(options: IamAuthOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw configError('createIamAuth needs an options object.', 'Pass { host, user } at least.')
  }
  const host = checkHost('host', options.host)
  const port = checkPort('port', options.port ?? DEFAULT_PORT)
  const user = checkNoControlCharacters(
    'user',
    checkNonEmpty('user', options.user, "the database user granted rds_iam, e.g. user: 'app_user'"),
  )
  const tokenHost = options.tokenHost === undefined ? host : checkHost('tokenHost', options.tokenHost)
  const tokenPort = options.tokenPort === undefined ? port : checkPort('tokenPort', options.tokenPort)
  const tokenUser = sessionUserOf(user)
  const target = resolveTarget(options.target, tokenHost)
  const tokenKind = target.tokenKind({
    tokenHost,
    tokenPort,
    user: tokenUser,
    admin: options.admin,
    lifetimeSeconds: options.tokenLifetimeSeconds,
  })
  return {
    host,
    port,
    user,
    tokenUser,
    tokenHost,
    tokenPort,
    target,
    tokenKind,
    region: checkRegion(options.region),
    profile:
      options.profile === undefined ? undefined : checkNonEmpty('profile', options.profile, 'a profile name'),
    credentials: checkCredentials(options.credentials),
    credentialsTimeoutMs: checkTimeout(
      'credentialsTimeoutMs',
      options.credentialsTimeoutMs ?? DEFAULT_CREDENTIALS_TIMEOUT_MS,
      DEFAULT_CREDENTIALS_TIMEOUT_MS,
    ),
    cache: checkCache(
      { ...DEFAULT_CACHE, ...checkBlock('cache', options.cache, '{ minRemainingMs: 60_000 }') },
      tokenKind.lifetimeSeconds * 1000,
    ),
    retry: checkRetry({
      ...DEFAULT_RETRY,
      ...checkBlock('retry', options.retry, '{ maxThrottleMs: 10_000 }'),
    }),
    clock: checkClock(options.clock ?? Date),
  }
}

// Spreading a number or a string into the defaults would silently keep the defaults.
function checkBlock<T extends object>(name: string, value: T | undefined, example: string): T | undefined {
  if (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value)))
    return value
  throw configError(`\`${name}\` must be an object.`, `Pass e.g. ${name}: ${example}, or leave it out.`)
}

function checkNonEmpty(name: string, value: unknown, expected: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(`\`${name}\` must be a non-empty string.`, `Set \`${name}\` to ${expected}.`)
  }
  return value
}

/** Refuses a setting with a control character in it, naming which one and where it came from. */
export function checkNoControlCharacters(name: string, value: string): string {
  const found = firstControlCharacter(value)
  if (found === undefined) return value
  throw configError(
    `\`${name}\` contains the control character ${found}.`,
    `Remove it from \`${name}\` (or the variable or URL it came from): a value read from a file or the environment often keeps its line ending.`,
  )
}

function checkHost(name: string, value: unknown): string {
  const host = checkNoControlCharacters(
    name,
    checkNonEmpty(name, value, `the database host name, e.g. '${EXAMPLE_ENDPOINT}'`),
  )
  const hint = `Set \`${name}\` to a bare host name or IP address, e.g. '${EXAMPLE_ENDPOINT}', and the port in \`${name === 'host' ? 'port' : 'tokenPort'}\`.`
  if (SCHEME.test(host)) throw configError(`\`${name}\` is a URL, not a host name.`, hint)
  if (/[/\s?#@]/.test(host)) throw configError(`\`${name}\` contains a path, query, space or user.`, hint)
  // A colon is only valid inside an IPv6 address; elsewhere it is a port glued to the host.
  if (host.includes(':') && isIP(host) !== 6) throw configError(`\`${name}\` contains a port.`, hint)
  return host
}

function checkPort(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65_535) {
    throw configError(`\`${name}\` must be an integer from 1 to 65535.`, `Set \`${name}\` to e.g. 5432.`)
  }
  return value as number
}

function checkRegion(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !REGION_NAME.test(value)) {
    throw configError(
      '`region` must be an AWS region name.',
      "Set `region` to e.g. 'us-east-1', or leave it out.",
    )
  }
  return value
}

function checkCredentials(value: unknown): AwsCredentialIdentity | AwsCredentialProvider | undefined {
  if (value === undefined || typeof value === 'function') return value as AwsCredentialProvider | undefined
  const identity = value as Partial<AwsCredentialIdentity> | null
  const valid =
    typeof identity === 'object' &&
    identity !== null &&
    typeof identity.accessKeyId === 'string' &&
    identity.accessKeyId !== '' &&
    typeof identity.secretAccessKey === 'string' &&
    identity.secretAccessKey !== ''
  if (!valid) {
    throw configError(
      '`credentials` must be a credential provider function or an object with accessKeyId and secretAccessKey.',
      'Pass e.g. fromIni({ profile }) from @aws-sdk/credential-providers, or leave `credentials` out to use the default provider chain.',
    )
  }
  return identity as AwsCredentialIdentity
}

function checkCache(cache: Required<TokenCacheOptions>, lifetimeMs: number): Required<TokenCacheOptions> {
  // A margin of a whole token lifetime would make every token unusable or refresh forever.
  for (const name of ['minRemainingMs', 'refreshAheadMs'] as const) {
    checkDuration(`cache.${name}`, cache[name], DEFAULT_CACHE[name])
    if (cache[name] >= lifetimeMs) {
      throw configError(
        `\`cache.${name}\` must be less than a token's lifetime of ${lifetimeMs} ms.`,
        `Use e.g. ${Math.min(DEFAULT_CACHE[name], Math.floor(lifetimeMs / 3))}, or a longer tokenLifetimeSeconds.`,
      )
    }
  }
  if (!Number.isInteger(cache.maxEntries) || cache.maxEntries < 1) {
    throw configError(
      '`cache.maxEntries` must be a positive integer.',
      `Use e.g. ${DEFAULT_CACHE.maxEntries}.`,
    )
  }
  return cache
}

function checkRetry(retry: Required<RetryOptions>): Required<RetryOptions> {
  for (const name of ['maxThrottleMs', 'baseDelayMs'] as const) {
    checkDuration(`retry.${name}`, retry[name], DEFAULT_RETRY[name])
  }
  return retry
}

function checkDuration(name: string, value: unknown, example: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw configError(
      `\`${name}\` must be a finite number of milliseconds, 0 or more.`,
      `Use e.g. ${example}.`,
    )
  }
}

// A bound of 0 would fail every wait, and Infinity or NaN would be no bound at all.
function checkTimeout(name: string, value: unknown, example: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw configError(
      `\`${name}\` must be a number of milliseconds above 0 and at most ${MAX_TIMER_MS}.`,
      `Use e.g. ${example}.`,
    )
  }
  return value
}

function checkClock(clock: Clock): Clock {
  if (typeof clock?.now !== 'function') {
    throw configError(
      '`clock` must have a now() method.',
      'Pass { now: () => Date.now() } or leave `clock` out.',
    )
  }
  return clock
}
