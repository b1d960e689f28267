import { CommanderError } from 'commander'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './exit-codes'
import { createProgram } from './program'
import { silenceSdkVersionWarning } from './sdk-version-warning'

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

// The codes core gives wrong options, before anything is dialed.
const OPTION_ERROR_CODES = new Set(['config', 'region-missing', 'ssl-required'])

async function report(error: unknown): Promise<number> {
  // Commander has already printed its own message (or the help, or the version).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE
  // Core's messages never carry a token; anything else is redacted to be sure.
  const { isRdsIamError, redact } = await import('@rds-iam/core')
  process.stderr.write(`rds-iam: ${redact((error as Error).message ?? String(error))}\n`)
  // Core finds some option problems only when it signs (a region that nothing names): still usage errors.
  if (error instanceof UsageError || (isRdsIamError(error) && OPTION_ERROR_CODES.has(error.code))) {
    process.stderr.write('(add --help for usage)\n')
    return EXIT_USAGE
  }
  return EXIT_FAILURE
}

silenceSdkVersionWarning()
process.exitCode = await main(process.argv.slice(2))
