import { defaultCaBundle, writeDefaultCaBundle } from '../ca-bundle'
import { EXIT_OK } from '../exit-codes'

export interface CaFlags {
  out?: string
}

/** Prints the default CA bundle, or writes it to --out and prints the file's path. */
export async function runCa(flags: CaFlags): Promise<number> {
  const output =
    flags.out === undefined ? await defaultCaBundle() : `${await writeDefaultCaBundle(flags.out)}\n`
  process.stdout.write(output)
  return EXIT_OK
}
