import type { ConnectionOptions } from 'node:tls'
import type { IamAuth } from '@rds-iam/core'

/**
 * The TLS options every client of one config shares: one object, filled from `auth.tls()` before the first
 * client dials, so making a client loads no certificates and every connection reuses one secure context.
 */
export interface SharedTls {
  options: ConnectionOptions
  fill(): Promise<void>
}

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

// The slice of a pg.Client where pg keeps the password it sent.
interface PasswordHolder {
  password?: unknown
  connectionParameters?: { password?: unknown }
}

/** Runs pg's own `connect` on a client whose password is a token hook, leaving no token on it afterwards. */
export async function signIn(client: object, tls: SharedTls, connect: () => Promise<unknown>): Promise<void> {
  await tls.fill()
  const signedIn = client as PasswordHolder
  const hook = signedIn.password
  try {
    await connect()
  } finally {
    // pg keeps the password it sent on the client and its parameters (hidden from inspect, but there for anyone
    // who looks); the hook goes back so that no token outlives the sign-in.
    signedIn.password = hook
    if (signedIn.connectionParameters) signedIn.connectionParameters.password = hook
  }
}
