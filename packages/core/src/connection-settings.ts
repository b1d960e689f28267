import { RdsIamError } from './errors'
import { loadOnFirstUse } from './load-on-first-use'
import type { IamAuthOptions, SslMode, SslOptions } from './types'

/** Where to connect, as a driver config, a connection URL or the libpq environment variables give it. */
export interface ConnectionSettings {
  host?: string
  port?: number
  user?: string
  database?: string
  ssl?: IamAuthOptions['ssl']
}

/**
 * Reads a `postgres://` URL with `pg-connection-string`. Its password is ignored (the token replaces it) and its
 * `sslmode` maps onto the TLS policy without weakening it: `prefer` and `allow` mean the default `verify-full`
 * because IAM never runs without TLS, `require` with an `sslrootcert` means `verify-ca` as in libpq.
 * @example parseConnectionUrl('postgres://app@mydb.cluster-abc.us-east-1.rds.amazonaws.com/app?sslmode=verify-full')
 */
export function parseConnectionUrl(url: string): ConnectionSettings {
  const { rest, sslmode } = takeSslMode(url)
  const parsed = parseUrl(rest)
  const port = parsed.port ? Number(parsed.port) : undefined
  return {
    host: parsed.host || undefined,
    port,
    user: parsed.user || undefined,
    database: parsed.database || undefined,
    ssl: sslFromUrl(sslmode, parsed.ssl),
  }
}

// sslmode is read here rather than by pg-connection-string, which warns that pg's own sslmode meanings will
// change: meanings this library does not use, since it maps sslmode onto its own policy.
function takeSslMode(url: string): { rest: string; sslmode: string | undefined } {
  const match = /([?&])sslmode=([^&#]*)&?/.exec(url)
  if (!match) return { rest: url, sslmode: undefined }
  const rest =
    url.slice(0, match.index) +
    (match[0].endsWith('&') ? match[1] : '') +
    url.slice(match.index + match[0].length)
  return { rest: rest.replace(/[?&]$/, ''), sslmode: decodeURIComponent(match[2] ?? '') }
}

/** The libpq variables node-postgres and postgres.js honour: PGHOST, PGPORT, PGUSER, PGDATABASE. */
export function readLibpqEnv(env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  return {
    host: env.PGHOST || undefined,
    port: env.PGPORT ? Number(env.PGPORT) : undefined,
    user: env.PGUSER || undefined,
    database: env.PGDATABASE || undefined,
  }
}

/** Merges layers of settings; a later layer wins, and an undefined value never hides an earlier one. */
export function mergeConnectionSettings(...layers: ConnectionSettings[]): ConnectionSettings {
  const merged: ConnectionSettings = {}
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined && value !== null) Object.assign(merged, { [key]: value })
    }
  }
  return merged
}

type ConnectionStringModule = typeof import('pg-connection-string')
type ParsedUrl = ReturnType<ConnectionStringModule['parse']>

function parseUrl(url: string): ParsedUrl {
  try {
    return loadOnFirstUse<ConnectionStringModule>('pg-connection-string').parse(url) as ParsedUrl
  } catch (cause) {
    // The URL itself is never quoted: it may carry a password.
    throw new RdsIamError('config', 'The connection string is not a valid postgres:// URL.', {
      hint: 'Use postgres://user@host:port/database?sslmode=verify-full and URL-encode special characters.',
      cause,
    })
  }
}

function sslFromUrl(sslmode: string | undefined, ssl: ParsedUrl['ssl']): SslMode | SslOptions | undefined {
  const fileOptions = typeof ssl === 'object' && ssl !== null ? pickTlsFiles(ssl) : {}
  switch (sslmode) {
    case undefined:
      return ssl === false ? 'disable' : Object.keys(fileOptions).length > 0 ? fileOptions : undefined
    case 'disable':
      return 'disable'
    case 'allow':
    case 'prefer':
    case 'verify-full':
      return { ...fileOptions, mode: 'verify-full' }
    case 'require':
      return { ...fileOptions, mode: fileOptions.ca ? 'verify-ca' : 'require' }
    case 'no-verify':
      return { ...fileOptions, mode: 'require' }
    case 'verify-ca':
      return { ...fileOptions, mode: 'verify-ca' }
    default:
      throw new RdsIamError('config', `The connection string has an unknown sslmode "${sslmode}".`, {
        hint: 'Use sslmode=verify-full (the default), verify-ca or require.',
      })
  }
}

// pg-connection-string has already read sslrootcert, sslcert and sslkey from disk into these fields.
function pickTlsFiles(ssl: object): SslOptions {
  const { ca, cert, key } = ssl as SslOptions
  return Object.fromEntries(Object.entries({ ca, cert, key }).filter(([, value]) => value !== undefined))
}
