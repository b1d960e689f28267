import { type ChildProcess, spawn } from 'node:child_process'
import { constants } from 'node:os'
import type { ConnectionFlags } from '../connection-flags'
import { prepareLibpqSignIn } from '../libpq-sign-in'
import { userEnvironment } from '../sdk-version-warning'

export interface ExecFlags extends ConnectionFlags {
  caFile?: string
}

// A migration or dump may open its connections minutes after it starts; 14 of the token's 15 minutes are left.
const MIN_TOKEN_LIFE_MS = 14 * 60_000

// What a terminal, a process manager or CI sends to stop or nudge the command goes to the command, not to rds-iam.
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2']

// As a shell reports them: found but not executable, not found.
const EXIT_NOT_EXECUTABLE = 126
const EXIT_NOT_FOUND = 127

/**
 * Runs the command with the libpq variables and DATABASE_URL set, forwards signals to it, and ends as it ended:
 * with its exit code, or killed by the same signal.
 */
export async function runExec(command: string[], flags: ExecFlags): Promise<number> {
  const { variables } = await prepareLibpqSignIn(flags, {
    caFile: flags.caFile,
    minRemainingMs: MIN_TOKEN_LIFE_MS,
  })
  const [file, ...args] = command as [string, ...string[]]
  // Listening before the command starts. Without a listener a signal ends rds-iam at once, so one that came
  // between the start and the listeners (a busy machine can stall rds-iam there while the command runs) would
  // leave the command running on its own. A caught signal is handled after this synchronous start.
  let child: ChildProcess | undefined
  const forward = (signal: NodeJS.Signals): void => {
    child?.kill(signal)
  }
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward)
  // An undefined variable is left out of the child's environment: stale ones from the shell are unset.
  const started = spawn(file, args, { stdio: 'inherit', env: { ...userEnvironment(), ...variables } })
  child = started
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        started.once('error', reject)
        started.once('exit', (code, signal) => resolve({ code, signal }))
      },
    )
    if (ended.signal === null) return ended.code ?? 0
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward)
    process.kill(process.pid, ended.signal)
    return 128 + (constants.signals[ended.signal] ?? 0)
  } catch (error) {
    return reportSpawnFailure(file, error as NodeJS.ErrnoException)
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward)
  }
}

function reportSpawnFailure(file: string, error: NodeJS.ErrnoException): number {
  const notFound = error.code === 'ENOENT'
  process.stderr.write(
    `rds-iam exec: ${notFound ? 'command not found' : 'cannot run'}: ${file} (${error.code ?? error.message})\n`,
  )
  return notFound ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE
}
