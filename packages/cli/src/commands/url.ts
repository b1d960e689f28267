import type { ConnectionFlags } from '../connection-flags'
import { EXIT_OK } from '../exit-codes'
import { prepareLibpqSignIn } from '../libpq-sign-in'

export interface UrlFlags extends ConnectionFlags {
  caFile?: string
}

/** Prints a postgresql:// URL with the percent-encoded token, sslmode and the CA file. */
export async function runUrl(flags: UrlFlags): Promise<number> {
  const { url } = await prepareLibpqSignIn(flags, { caFile: flags.caFile })
  process.stdout.write(`${url}\n`)
  return EXIT_OK
}
