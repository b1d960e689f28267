// A plain import a bundler can follow; node-postgres loads this same module anyway.

import { readFileSync } from 'node:fs'
import { parse as parseConnectionString } from 'pg-connection-string'
import { RdsIamError } from './errors'
import type { IamAuthOptions, SslOptions } from './types'

/** Where to connect, as a driver config, a connection URL or the libpq environment variables give it. */
export interface ConnectionSettings {
  host?: string
  port?: number
  user?: string
  database?: string
  // 'disable' and false are kept so that createIamAuth refuses them with `ssl-required`.
  ssl?: IamAuthOptions['ssl'] | 'disable' | false
}

/**
 * Reads a `postgres://` URL with `pg-connection-string`. Its password is ignored (the token replaces it) and its
 * `sslmode` maps onto the TLS policy without weakening it: `prefer` and `allow` mean the default `verify-full`
 * because IAM never runs without TLS, `require` with an `sslrootcert` means `verify-ca` as in libpq. What
 * pg-connection-string would quietly misread (no scheme, a bad escape, a port that is no number) is refused here,
 * so a bad URL fails at creation rather than as a network error at the first connect.
 * @example parseConnectionUrl('postgres://app@mydb.cluster-abc.us-east-1.rds.amazonaws.com/app?sslmode=verify-full')
 */
export function parseConnectionUrl(url: string): ConnectionSettings {
  checkUrlShape(url)
  const { rest: withoutMode, value: sslmode } = takeParameter(url, 'sslmode')
  const roots = takeParameter(withoutMode, 'sslrootcert')
  // libpq's `sslrootcert=system` names the operating system's roots, not a file; the default CAs include them.
  const parsed = parseUrl(roots.value === 'system' ? roots.rest : withoutMode)
  return {
    host: parsed.host || undefined,
    port: parsed.port
      ? checkPort(parsed.port, "The connection string's port", 'the port in the URL')
      : undefined,
    user: parsed.user || undefined,
    database: parsed.database || undefined,
    ssl: sslFromMode(sslmode, parsed.ssl, 'The connection string'),
  }
}

// Whatever is wrong with a connection string or a libpq variable is a configuration error.
function settingsError(summary: string, hint: string, cause?: unknown): RdsIamError {
  return new RdsIamError('config', summary, { hint, cause })
}

const URL_HINT =
  'Use postgres://user@host:port/database?sslmode=verify-full and URL-encode special characters.'

// The URL itself is never quoted: it may carry a password.
function checkUrlShape(url: string): void {
  // pg-connection-string reads any other text as a database name on host "base".
  if (typeof url !== 'string' || !/^postgres(?:ql)?:\/\//i.test(url)) {
    throw settingsError('The connection string does not start with postgres:// or postgresql://.', URL_HINT)
  }
  // libpq takes the last of two sslmode values, pg-connection-string the first: neither is safe to guess.
  if ((url.match(/[?&]sslmode=/g) ?? []).length > 1) {
    throw settingsError('The connection string gives sslmode more than once.', URL_HINT)
  }
  // pg-connection-string keeps a malformed escape as it is, and decoding sslmode would throw a raw URIError.
  try {
    decodeURIComponent(url)
  } catch {
    throw settingsError(
      'The connection string has a malformed percent-escape (a % not followed by two hex digits, or not UTF-8).',
      `${URL_HINT} A literal % is written %25.`,
    )
  }
}

// sslmode is read here rather than by pg-connection-string, which warns that pg's own sslmode meanings will
// change: meanings this library does not use, since it maps sslmode onto its own policy.
function takeParameter(url: string, name: string): { rest: string; value: string | undefined } {
  const match = new RegExp(`([?&])${name}=([^&#]*)&?`).exec(url)
  if (!match) return { rest: url, value: undefined }
  const rest =
    url.slice(0, match.index) +
    (match[0].endsWith('&') ? match[1] : '') +
    url.slice(match.index + match[0].length)
  return { rest: rest.replace(/[?&]$/, ''), value: decodeURIComponent(match[2] ?? '') }
}

/**
 * The libpq variables node-postgres and postgres.js honour (PGHOST, PGPORT, PGUSER, PGDATABASE) plus the TLS ones
 * libpq users set for tools (PGSSLMODE, PGSSLROOTCERT, whose file is read here). A malformed value is refused
 * naming the variable, also when another layer would override it: a bad environment is worth fixing at once.
 * @example readLibpqEnv({ PGHOST: 'db.abc.us-east-1.rds.amazonaws.com', PGSSLMODE: 'verify-full' })
 */
export function readLibpqEnv(env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  return {
    host: env.PGHOST || undefined,
    port: env.PGPORT ? checkPort(env.PGPORT, 'PGPORT', 'PGPORT') : undefined,
    user: env.PGUSER || undefined,
    database: env.PGDATABASE || undefined,
    ssl: sslFromMode(env.PGSSLMODE || undefined, rootCertFromEnv(env.PGSSLROOTCERT), 'PGSSLMODE'),
  }
}

// libpq's `system` means the operating system's roots with full verification, which the default policy covers.
function rootCertFromEnv(path: string | undefined): { ca: string } | undefined {
  if (!path || path === 'system') return undefined
  try {
    return { ca: readFileSync(path, 'utf8') }
  } catch (cause) {
    throw settingsError(
      `PGSSLROOTCERT names a file that cannot be read: ${path}.`,
      'Point PGSSLROOTCERT at a PEM file of the CA certificates to trust, or unset it to use the Amazon RDS CAs.',
      cause,
    )
  }
}

function checkPort(text: string, subject: string, setting: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw settingsError(
      `${subject} must be an integer from 1 to 65535, not "${text}".`,
      `Set ${setting} to the database port, e.g. 5432, or leave it out.`,
    )
  }
  return port
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

type ParsedUrl = ReturnType<typeof parseConnectionString>

function parseUrl(url: string): ParsedUrl {
  try {
    return parseConnectionString(url) as ParsedUrl
  } catch (cause) {
    // pg-connection-string reads sslrootcert, sslcert and sslkey while parsing; a file error says which syscall
    // failed and often the path, which is safe to show.
    const { syscall, path } = cause as { syscall?: unknown; path?: unknown }
    if (typeof syscall === 'string') {
      const which = typeof path === 'string' ? path : 'sslrootcert, sslcert or sslkey'
      throw settingsError(
        `The connection string names a TLS file that cannot be read: ${which}.`,
        'Point sslrootcert, sslcert and sslkey at readable PEM files, or leave sslrootcert out to trust the Amazon RDS CAs.',
        cause,
      )
    }
    throw settingsError('The connection string is not a valid postgres:// URL.', URL_HINT, cause)
  }
}

// Shared by URLs and PGSSLMODE, so both spell libpq's modes the same way; `source` names where a bad one came from.
function sslFromMode(
  sslmode: string | undefined,
  ssl: ParsedUrl['ssl'] | { ca: string },
  source: string,
): ConnectionSettings['ssl'] {
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
      throw settingsError(
        `${source} has an unknown sslmode "${sslmode}".`,
        'Use verify-full (the default), verify-ca or require.',
      )
  }
}

// pg-connection-string has already read sslrootcert, sslcert and sslkey from disk into these fields, and
// readLibpqEnv PGSSLROOTCERT into `ca`.
function pickTlsFiles(ssl: object): SslOptions {
  const { ca, cert, key } = ssl as SslOptions
  return Object.fromEntries(Object.entries({ ca, cert, key }).filter(([, value]) => value !== undefined))
}
