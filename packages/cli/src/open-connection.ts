import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { IamAuth, IamOptions, SslMode } from '@rds-iam/core'
import {
  type ConnectionSettings,
  createDriverAuth,
  mergeConnectionSettings,
  parseConnectionUrl,
  readLibpqEnv,
} from '@rds-iam/core/adapter'
import type { ConnectionFlags } from './connection-flags'
import { UsageError } from './exit-codes'

/** The auth layer for the connection the options describe, and what a libpq tool needs besides. */
export interface Connection {
  auth: IamAuth
  database: string | undefined
  /** The CA file the user chose (option, URL or PGSSLROOTCERT), as an absolute path; libpq tools get it as is. */
  rootCertFile: string | undefined
  /** The profile named by the options, for messages; the SDK reads AWS_PROFILE itself. */
  profile: string | undefined
  /** The `--url` query parameters that are the tool's own (`application_name`, `options`, ...). */
  urlParameters: Record<string, string>
}

/**
 * Layers the options over the URL over the libpq variables through core, the way the adapters do. A missing host
 * or user, a bad port or TLS setting is a usage error: it says which option or variable to set.
 */
export function openConnection(flags: ConnectionFlags, iam: IamOptions = {}): Connection {
  const rootCertFile = chooseRootCertFile(flags)
  try {
    const ssl = explicitSsl(flags, rootCertFile)
    const { auth, database, urlParameters } = createDriverAuth({
      explicit: { host: flags.host, port: flags.port, user: flags.user, database: flags.database, ssl },
      url: flags.url,
      // Like libpq and psql, what is spelled out on the command line wins over the URL.
      precedence: 'explicit',
      iam: {
        ...iam,
        region: flags.region,
        profile: flags.profile,
        tokenHost: flags.tokenHost,
        tokenPort: flags.tokenPort,
        target: flags.target,
        admin: flags.admin,
        tokenLifetimeSeconds: flags.tokenLifetime,
      },
    })
    return { auth, database, rootCertFile, profile: flags.profile, urlParameters }
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error })
  }
}

function chooseRootCertFile(flags: ConnectionFlags): string | undefined {
  const fromUrl = flags.url ? urlParameter(flags.url, 'sslrootcert') : undefined
  const file = flags.sslRootCert ?? fromUrl ?? (process.env.PGSSLROOTCERT || undefined)
  // libpq's `system` is no file but the trusted roots, which the default bundle covers (and core reads it so).
  return file === undefined || file === 'system' ? undefined : resolve(file)
}

// libpq keeps sslmode and sslrootcert apart while core's layers carry one TLS setting, so an option replaces only
// its own half: a CA file given as an option keeps the mode of the URL or PGSSLMODE, and a mode keeps the CA file.
function explicitSsl(flags: ConnectionFlags, rootCertFile: string | undefined): ConnectionSettings['ssl'] {
  if (flags.sslMode === undefined && flags.sslRootCert === undefined) return undefined
  const layered = mergeConnectionSettings(readLibpqEnv(), flags.url ? parseConnectionUrl(flags.url) : {}).ssl
  const mode = flags.sslMode ?? modeOf(layered)
  // Core refuses it, with the reason.
  if (mode === 'disable') return 'disable'
  const ca = rootCertFile === undefined ? undefined : readRootCert(rootCertFile)
  return { ...(mode === undefined ? {} : { mode }), ...(ca === undefined ? {} : { ca }) }
}

function modeOf(ssl: ConnectionSettings['ssl']): SslMode | 'disable' | undefined {
  if (ssl === false) return 'disable'
  if (typeof ssl === 'string') return ssl
  return typeof ssl === 'object' ? ssl.mode : undefined
}

function readRootCert(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(
      `Cannot read the CA file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}.`,
    )
  }
}

function urlParameter(url: string, name: string): string | undefined {
  try {
    return new URL(url).searchParams.get(name) ?? undefined
  } catch {
    // An invalid URL is reported by core, with a hint, when it parses it.
    return undefined
  }
}
