import type { ConnectionFlags } from '../connection-flags'
import { EXIT_OK } from '../exit-codes'
import { issueToken } from '../issue-token'

export interface TokenFlags extends ConnectionFlags {
  json?: boolean
}

/** Prints only the token, or with --json what it is for and when it stops working. */
export async function runToken(flags: TokenFlags): Promise<number> {
  const { connection, token, expiresAt } = await issueToken(flags)
  const { auth } = connection
  const output = flags.json
    ? JSON.stringify({
        token,
        expiresAt: expiresAt.toISOString(),
        region: auth.region,
        tokenHost: auth.tokenHost,
        tokenPort: auth.tokenPort,
        user: auth.user,
        target: auth.target,
      })
    : token
  process.stdout.write(`${output}\n`)
  return EXIT_OK
}
