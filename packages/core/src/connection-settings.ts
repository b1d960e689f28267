import { readFileSync } from 'node:fs'
import { firstControlCharacter } from './control-characters'
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
  /**
   * A URL's query parameters that rds-iam does not read itself (`application_name`, `options`, postgres.js's
   * `max`, ...): the adapter hands them to its driver, which applies them as it would from the URL.
   */
  parameters?: Record<string, string>
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
    parameters: Object.fromEntries([...query].filter(([name]) => !READ_BY_RDS_IAM.test(name))),
  }
}

// The query parameters rds-iam reads from a URL itself and gives the driver as options of its own choosing. `database`
// is read from the path alone, as node-postgres does.
const READ_BY_RDS_IAM = /^(host|port|user|password|database|ssl(mode|rootcert|cert|key)?)$/

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
  // The URL parser drops tabs and line breaks and trims the rest, so the URL used would not be the one given.
  const control = firstControlCharacter(url)
  if (control !== undefined) {
    throw settingsError(
      `The connection string contains the control character ${control}.`,
      `${URL_HINT} A value read from a file or the environment often keeps its line ending.`,
    )
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
    ssl: sslFromMode(
      env.PGSSLMODE || undefined,
      pemFiles([['ca', 'PGSSLROOTCERT', env.PGSSLROOTCERT]]),
      'PGSSLMODE',
    ),
  }
}

/**
 * A port given as text (a URL's, PGPORT, a driver config's `port: '5432'`): digits only, 1 to 65535, where
 * `Number()` would also take ' 5432\n', '0x1538' or '5e3'.
 * @example checkPort(config.port, '`port`', '`port`')
 */
export function checkPort(text: string, subject: string, setting: string): number {
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

// The TLS parameters node-postgres reads from a URL: ssl=true|1|0 and the PEM files.
function sslFromQuery(query: URLSearchParams): boolean | SslOptions | undefined {
  const files = pemFiles([
    ['ca', 'sslrootcert', query.get('sslrootcert')],
    ['cert', 'sslcert', query.get('sslcert')],
    ['key', 'sslkey', query.get('sslkey')],
  ])
  if (files) return files
  const ssl = query.get('ssl')
  return ssl === 'true' || ssl === '1' ? true : ssl === '0' ? false : undefined
}

type PemFile = [field: 'ca' | 'cert' | 'key', setting: string, path: string | null | undefined]

// Reads the PEM files a URL or PGSSLROOTCERT names, or gives undefined when it names none. libpq's
// `sslrootcert=system` means the operating system's roots, not a file; the default CAs include them.
function pemFiles(named: PemFile[]): SslOptions | undefined {
  const files: SslOptions = {}
  for (const [field, setting, path] of named) {
    if (!path || (field === 'ca' && path === 'system')) continue
    try {
      files[field] = readFileSync(path, 'utf8')
    } catch (cause) {
      throw settingsError(
        `${setting} names a file that cannot be read: ${path}.`,
        `Point ${setting} at a readable PEM file${field === 'ca' ? ', or leave it out to trust the Amazon RDS CAs' : ''}.`,
        cause,
      )
    }
  }
  return Object.keys(files).length > 0 ? files : undefined
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
