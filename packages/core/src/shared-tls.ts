import type { ConnectionOptions } from 'node:tls'
import type { IamAuth } from './types'

/** TLS options that every connection of one driver config shares, filled once before the first dial. */
export interface SharedTls {
  options: ConnectionOptions
  fill(): Promise<void>
}

/**
 * One options object for a driver's `ssl`, filled from `auth.tls()` before the first connection dials: making a
 * connection loads no certificates, and every connection reuses one secure context.
 * @example
 * const tls = createSharedTls(auth)
 * await tls.fill() // before dialing
 * new pg.Client({ ...config, ssl: tls.options })
 */
export function createSharedTls(auth: IamAuth): SharedTls {
  const options: ConnectionOptions = {}
  let filled = false
  return {
    options,
    async fill() {
      if (filled) return
      Object.assign(options, await auth.tls())
      filled = true
    },
  }
}
