import { readFileSync } from 'node:fs'
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
 * Reads a `postgres://` URL the way node-postgres's `pg-connection-string` does (query parameters `host`, `port`
 * and `user` win over the URL's parts; `sslrootcert`, `sslcert` and `sslkey` name PEM files), with Node's own URL
 * parser. Its password is ignored (the token replaces it) and its `sslmode` maps onto the TLS policy without
 * weakening it: `prefer` and `allow` mean the default `verify-full` because IAM never runs without TLS, `require`
 * with an `sslrootcert` means `verify-ca` as in libpq. A URL that would be misread (no scheme, a bad escape, a
 * port that is no number) is refused here, so a bad URL fails at creation rather than at the first connect.
 * @example parseConnectionUrl('postgres://app@mydb.cluster-abc.us-east-1.rds.amazonaws.com/app?sslmode=verify-full')
 */
export function parseConnectionUrl(url: string): ConnectionSettings {
  checkUrlShape(url)
  const { parsed, emptyHost } = parseUrl(url)
  const query = parsed.searchParams
  if (query.getAll('sslmode').length > 1) {
    // libpq takes the last of two values, pg-connection-string the first: neither is safe to guess.
    throw settingsError('The connection string gives sslmode more than once.', URL_HINT)
  }
  const host = emptyHost ? '' : decodeURIComponent(parsed.hostname.replace(/^\[(.+)\]$/, '$1'))
  const port = query.get('port') || parsed.port
  const database = parsed.pathname.slice(1)
  return {
    host: query.get('host') || host || undefined,
    port: port ? checkPort(port, "The connection string's port", 'the port in the URL') : undefined,
    user: query.get('user') || decodeURIComponent(parsed.username) || undefined,
    database: database ? decodeURI(database) : undefined,
    ssl: sslFromMode(query.get('sslmode') ?? undefined, sslFromQuery(query), 'The connection string'),
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
  // Anything else would be read as a relative path or another scheme's URL.
  if (typeof url !== 'string' || !/^postgres(?:ql)?:\/\//i.test(url)) {
    throw settingsError('The connection string does not start with postgres:// or postgresql://.', URL_HINT)
  }
  // Decoding a malformed escape in the user or database would throw a raw URIError.
  try {
    decodeURIComponent(url)
  } catch {
    throw settingsError(
      'The connection string has a malformed percent-escape (a % not followed by two hex digits, or not UTF-8).',
      `${URL_HINT} A literal % is written %25.`,
    )
  }
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
  const merged: Record<string, unknown> = {}
  for (const layer of layers) {
    for (const key in layer) {
      const value = layer[key as keyof ConnectionSettings]
      if (value !== undefined && value !== null) merged[key] = value
    }
  }
  return merged as ConnectionSettings
}

// WHATWG refuses a user with an empty host (postgres://app@/db, for PGHOST or a socket); like pg-connection-string,
// read it with a stand-in host and then drop that host.
function parseUrl(url: string): { parsed: URL; emptyHost: boolean } {
  // Spaces are written as they are in libpq keyword strings; a URL needs them escaped.
  const escaped = url.replaceAll(' ', '%20')
  try {
    return { parsed: new URL(escaped), emptyHost: false }
  } catch {
    try {
      return { parsed: new URL(escaped.replace('@/', '@empty-host/')), emptyHost: true }
    } catch {
      // No cause: Node's TypeError carries the whole URL as `input`, and with it any password.
      throw settingsError('The connection string is not a valid postgres:// URL.', URL_HINT)
    }
  }
}

// The TLS parameters node-postgres reads from a URL: ssl=true|1|0 and the PEM files. libpq's `sslrootcert=system`
// names the operating system's roots, not a file; the default CAs include them.
function sslFromQuery(query: URLSearchParams): boolean | SslOptions | undefined {
  const files = {
    ca: readTlsFile(query, 'sslrootcert'),
    cert: readTlsFile(query, 'sslcert'),
    key: readTlsFile(query, 'sslkey'),
  }
  const named = Object.fromEntries(Object.entries(files).filter(([, pem]) => pem !== undefined))
  if (Object.keys(named).length > 0) return named
  const ssl = query.get('ssl')
  return ssl === 'true' || ssl === '1' ? true : ssl === '0' ? false : undefined
}

function readTlsFile(query: URLSearchParams, parameter: string): string | undefined {
  const path = query.get(parameter)
  if (!path || (parameter === 'sslrootcert' && path === 'system')) return undefined
  try {
    return readFileSync(path, 'utf8')
  } catch (cause) {
    throw settingsError(
      `The connection string's ${parameter} names a file that cannot be read: ${path}.`,
      'Point sslrootcert, sslcert and sslkey at readable PEM files, or leave sslrootcert out to trust the Amazon RDS CAs.',
      cause,
    )
  }
}

// Shared by URLs and PGSSLMODE, so both spell libpq's modes the same way; `source` names where a bad one came from.
function sslFromMode(
  sslmode: string | undefined,
  ssl: boolean | SslOptions | undefined,
  source: string,
): ConnectionSettings['ssl'] {
  const fileOptions = typeof ssl === 'object' ? ssl : {}
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
