import type pg from 'pg'

/**
 * The driver options of a config that a pool or an ORM passes when it constructs a client (timeouts, types,
 * application_name): kept, while where to connect and how to sign in stay this adapter's alone.
 */
export function callerOptions(options: string | pg.ClientConfig | undefined): pg.ClientConfig {
  if (typeof options !== 'object' || options === null) return {}
  const { connectionString: _url, password: _password, ssl: _ssl, ...rest } = options
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))
}
