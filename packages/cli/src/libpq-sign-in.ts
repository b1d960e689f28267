import { defaultCaFilePath, writeDefaultCaBundle } from './ca-bundle'
import type { ConnectionFlags } from './connection-flags'
import { formatConnectionUrl } from './connection-url'
import { issueToken } from './issue-token'
import { libpqTarget } from './libpq-target'

/**
 * The variables a libpq tool signs in with, DATABASE_URL included. `undefined` means unset: a PGHOSTADDR or
 * PGSSLROOTCERT left in the shell by an earlier `eval "$(rds-iam env)"` would otherwise send psql to an old tunnel
 * or make libpq verify against a CA the mode does not ask for.
 */
export type LibpqVariables = Record<string, string | undefined>

/** What a libpq tool needs to sign in: its variables and the same as one URL. */
export interface LibpqSignIn {
  variables: LibpqVariables
  url: string
  expiresAt: Date
}

export interface SignInOptions {
  /** Where to write the default CA bundle when no CA file was chosen. */
  caFile?: string
  minRemainingMs?: number
}

/**
 * Signs a token and describes the connection in libpq's terms, with sslmode and the CA file core's TLS policy
 * stands for: the user's own CA file, else the default bundle written to a file.
 */
export async function prepareLibpqSignIn(
  flags: ConnectionFlags,
  options: SignInOptions = {},
): Promise<LibpqSignIn> {
  const { connection, token, expiresAt } = await issueToken(flags, options)
  const { auth, database } = connection
  const target = await libpqTarget(auth)
  const sslRootCert = await caFileFor(auth.sslMode, connection.rootCertFile, options.caFile)
  const url = formatConnectionUrl({
    target,
    user: auth.user,
    token,
    database,
    sslMode: auth.sslMode,
    sslRootCert,
    parameters: connection.urlParameters,
  })
  const variables: LibpqVariables = {
    PGHOST: target.host,
    PGHOSTADDR: target.hostaddr,
    PGPORT: String(target.port),
    PGUSER: auth.user,
    PGDATABASE: database,
    PGPASSWORD: token,
    PGSSLMODE: auth.sslMode,
    PGSSLROOTCERT: sslRootCert,
    ...libpqVariablesOf(connection.urlParameters),
    DATABASE_URL: url,
  }
  return { variables, url, expiresAt }
}

// The variables libpq reads for the connection parameters a `--url` may carry besides where to connect and TLS.
// A parameter without one reaches the tool through DATABASE_URL only.
const LIBPQ_VARIABLE_OF: Record<string, string> = {
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  client_encoding: 'PGCLIENTENCODING',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
}

function libpqVariablesOf(parameters: Record<string, string>): LibpqVariables {
  const variables: LibpqVariables = {}
  for (const [name, value] of Object.entries(parameters)) {
    const variable = LIBPQ_VARIABLE_OF[name]
    if (variable) variables[variable] = value
  }
  return variables
}

// libpq's sslmode=require turns into verify-ca as soon as it finds a CA file, so `require` gets none.
async function caFileFor(
  sslMode: string,
  rootCertFile: string | undefined,
  caFile: string | undefined,
): Promise<string | undefined> {
  if (sslMode === 'require') return undefined
  return rootCertFile ?? writeDefaultCaBundle(caFile ?? defaultCaFilePath())
}
