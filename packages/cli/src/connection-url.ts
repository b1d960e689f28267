import type { SslMode } from '@rds-iam/core'
import type { LibpqTarget } from './libpq-target'

/** Everything a `postgresql://` URL for one sign-in carries. */
export interface UrlParts {
  target: LibpqTarget
  user: string
  token: string
  database: string | undefined
  sslMode: SslMode
  sslRootCert: string | undefined
  /** Parameters of the user's own URL that go on to the tool as they were (`application_name`, `options`, ...). */
  parameters: Record<string, string>
}

/**
 * A URL libpq and node-postgres read alike. The token is percent-encoded: raw, its `?` and `&` end the password
 * and libpq fails with `invalid URI query parameter: "Action"`.
 */
export function formatConnectionUrl(parts: UrlParts): string {
  const { target, user, token, database, sslMode, sslRootCert, parameters } = parts
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  const path = database === undefined ? '' : `/${encodeURIComponent(database)}`
  // A hostaddr of the user's own URL stands unless the tunnel needs one of its own.
  const own = { sslmode: sslMode, sslrootcert: sslRootCert, hostaddr: target.hostaddr ?? parameters.hostaddr }
  const query = Object.entries({ ...parameters, ...own })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&')
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(token)}@${host}:${target.port}${path}?${query}`
}
