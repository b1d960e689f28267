import { createConfigMemo } from './config-memo'
import {
  type ConnectionSettings,
  checkPort,
  mergeConnectionSettings,
  parseConnectionUrl,
  readLibpqEnv,
} from './connection-settings'
import { createIamAuth } from './create-iam-auth'
import { configError } from './errors'
import { checkNoControlCharacters } from './options'
import type { IamAuth, IamAuthOptions } from './types'

/** The `iam` block of every adapter: everything of `createIamAuth` the driver's own config does not already say. */
export type IamOptions = Omit<IamAuthOptions, 'host' | 'port' | 'user' | 'database' | 'ssl'>

/** What every adapter accepts next to its driver's own options. */
export interface IamDriverOptions {
  /**
   * TLS policy. Default `verify-full` against the Amazon RDS CAs plus Node's roots; `false` and `'disable'` are
   * refused, `'require'` warns.
   * @example ssl: { ca: readFileSync('my-private-ca.pem', 'utf8') }
   * @example ssl: 'verify-ca'
   */
  ssl?: IamAuthOptions['ssl']
  /**
   * IAM settings: region, profile, credentials, tokenHost for tunnels, cache and retry tuning, events.
   * @example iam: { region: 'eu-west-1', profile: 'prod', onEvent: (event) => metrics.count(event.type) }
   */
  iam?: IamOptions
}

/** A driver config's own host, port, user, database and ssl; a port may be text, as pg and postgres.js take it. */
export interface ExplicitSettings extends Omit<ConnectionSettings, 'port'> {
  port?: number | string
}

/** Options a user may write for a connection URL where the driver reads none, with where the URL goes instead. */
export interface MisplacedUrl {
  /** The options by name, as the user's config has them; a set one is refused. */
  options: Record<string, unknown>
  /** Where this driver takes its URL. */
  hint: string
}

/** A driver config as an adapter reads it. */
export interface DriverSettings {
  /** The config's own host, port, user, database and ssl. */
  explicit: ExplicitSettings
  /** Its connection URL, if it has one. */
  url?: string
  /**
   * Which wins where the URL and the explicit options disagree: node-postgres lets the URL win, postgres.js the
   * explicit options. The libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE) fill in what neither says.
   */
  precedence: 'url' | 'explicit'
  iam?: IamOptions
  /** Options that look like a connection URL but that this driver ignores, so a URL given there is not lost. */
  misplacedUrl?: MisplacedUrl
  /**
   * The user's config object, for a factory that is called per request with the same one (`createClient` in a
   * handler): a later call for it gets the same DriverAuth while the config and the environment say the same.
   */
  rememberFor?: object
}

function isTlsOff(ssl: ConnectionSettings['ssl']): boolean {
  return ssl === 'disable' || ssl === false
}

/**
 * For adapters: the driver config a user passed, which may be left out (then the libpq variables say everything),
 * but is never anything but an object.
 * @example const { iam, ...options } = driverConfig(config)
 */
export function driverConfig<T extends object>(config: T | undefined | null): Partial<T> {
  if (config === undefined) return {}
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw configError(
      'The config must be an object.',
      "Pass the driver's options, e.g. { host, user, database }, or nothing to use PGHOST, PGUSER and PGDATABASE.",
    )
  }
  return config
}

// A port written as text is read as the drivers' URL parsers read one: digits only.
function explicitSettings({ port, ...rest }: ExplicitSettings): ConnectionSettings {
  return { ...rest, port: typeof port === 'string' ? checkPort(port, 'The `port` option', '`port`') : port }
}

function checkMisplacedUrl(misplaced: MisplacedUrl | undefined): void {
  if (!misplaced) return
  for (const [name, value] of Object.entries(misplaced.options)) {
    if (value === undefined) continue
    throw configError(
      `\`${name}\` is not an option of this driver, so its URL would be ignored.`,
      misplaced.hint,
    )
  }
}

/** What a driver needs besides its own options: the auth layer and the database to open. */
export interface DriverAuth {
  auth: IamAuth
  database: string | undefined
  /** The URL's query parameters that are the driver's own (`application_name`, `max`, ...), for it to apply. */
  urlParameters: Record<string, string>
}

/**
 * For adapters: layers a driver config the way its driver does, then makes its `IamAuth`. A missing host or user
 * is named together with the variable that would have given it.
 * @example const { auth, database } = createDriverAuth({ explicit: { host, user, ssl }, url, precedence: 'url', iam })
 */
export function createDriverAuth(settings: DriverSettings): DriverAuth {
  const { rememberFor, url } = settings
  return rememberFor ? remembered(rememberFor, url, () => makeDriverAuth(settings)) : makeDriverAuth(settings)
}

// A new IamAuth per request would cost 0.3-0.4 ms of CPU at each connect, and a call to a credentials provider of
// the user's own.
const remembered = createConfigMemo<DriverAuth>()

function makeDriverAuth(settings: DriverSettings): DriverAuth {
  const { url, precedence, iam = {} } = settings
  checkMisplacedUrl(settings.misplacedUrl)
  const explicit = explicitSettings(settings.explicit)
  const fromUrl = url ? parseConnectionUrl(url) : {}
  const layers = precedence === 'url' ? [explicit, fromUrl] : [fromUrl, explicit]
  const merged = mergeConnectionSettings(readLibpqEnv(), ...layers)
  const { host, port, user, database } = merged
  // A URL that says sslmode=disable is a statement about this connection; no other layer may quietly override it.
  const ssl = isTlsOff(fromUrl.ssl) ? fromUrl.ssl : merged.ssl
  if (database !== undefined && (typeof database !== 'string' || database === '')) {
    throw configError(
      '`database` must be a non-empty string.',
      "Set `database` to e.g. 'app', or leave it out.",
    )
  }
  if (database !== undefined) checkNoControlCharacters('database', database)
  if (!host) {
    throw configError(
      'No database host: neither the config, the connection string nor PGHOST names one.',
      "Set `host` (or PGHOST) to the RDS endpoint, e.g. 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com'.",
    )
  }
  if (!user) {
    throw configError(
      'No database user: neither the config, the connection string nor PGUSER names one.',
      "Set `user` (or PGUSER) to a database user granted rds_iam, e.g. user: 'app_user'.",
    )
  }
  // A refused ssl setting ('disable', false) goes through on purpose: createIamAuth names the refusal.
  return {
    auth: createIamAuth({ ...iam, host, port, user, database, ssl: ssl as IamAuthOptions['ssl'] }),
    database,
    urlParameters: fromUrl.parameters ?? {},
  }
}
