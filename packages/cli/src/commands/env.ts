import type { ConnectionFlags } from '../connection-flags'
import { EXIT_OK } from '../exit-codes'
import { prepareLibpqSignIn } from '../libpq-sign-in'
import { formatExports, type Shell } from '../shell-syntax'

export interface EnvFlags extends ConnectionFlags {
  caFile?: string
  shell: Shell
}

/** Prints the libpq variables and DATABASE_URL as lines the chosen shell evaluates. */
export async function runEnv(flags: EnvFlags): Promise<number> {
  const { variables } = await prepareLibpqSignIn(flags, { caFile: flags.caFile })
  process.stdout.write(formatExports(variables, flags.shell))
  return EXIT_OK
}
