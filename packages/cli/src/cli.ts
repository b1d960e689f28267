import { CommanderError } from 'commander'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './exit-codes'
import { createProgram } from './program'

/** Runs `rds-iam` with `args` and returns the exit code; errors are printed, never thrown. */
async function main(args: string[]): Promise<number> {
  let exitCode = EXIT_OK
  const program = createProgram((code) => {
    exitCode = code
  })
  try {
    await program.parseAsync(args, { from: 'user' })
    return exitCode
  } catch (error) {
    return report(error)
  }
}

async function report(error: unknown): Promise<number> {
  // Commander has already printed its own message (or the help, or the version).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE
  // Core's messages never carry a token; anything else is redacted to be sure.
  const { redact } = await import('@rds-iam/core')
  process.stderr.write(`rds-iam: ${redact((error as Error).message ?? String(error))}\n`)
  if (error instanceof UsageError) {
    process.stderr.write('(add --help for usage)\n')
    return EXIT_USAGE
  }
  return EXIT_FAILURE
}

process.exitCode = await main(process.argv.slice(2))
