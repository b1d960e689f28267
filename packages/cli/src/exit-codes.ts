/** Exit codes of `rds-iam`, as the README documents them; `exec` passes its command's own code through instead. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** The call itself is wrong (an option missing or invalid): exit 2, and the help says what to change. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
