import type { SharedTls } from '@rds-iam/core/adapter'

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
