import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = fileURLToPath(new URL('../../', import.meta.url))
const cliSource = join(packageDir, 'src', 'cli.ts')

/** How a run of `rds-iam` ended, and what it printed. */
export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * The environment a test starts from: the machine's, without any PG*, AWS_* or DATABASE_URL of its own, and with
 * no AWS config files or instance metadata to fall back on.
 */
export function isolatedEnv(dir: string): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([name]) => !/^(PG|AWS_)/.test(name) && name !== 'DATABASE_URL' && name !== 'NODE_OPTIONS',
  )
  return {
    ...Object.fromEntries(kept),
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // STS is never reachable from a test: a closed local port makes the identity step skip at once.
    AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1',
    XDG_CACHE_HOME: join(dir, 'cache'),
    // The workspace packages resolve to their sources, so the CLI runs without a build.
    TSX_TSCONFIG_PATH: join(packageDir, 'tsconfig.source.json'),
  }
}

export function removeDir(dir: string | undefined): Promise<void> {
  return dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true })
}

export interface RunOptions {
  env: NodeJS.ProcessEnv
  /** Modules for node's --import before the CLI's own. */
  imports?: string[]
  /** Called with the process once it runs, e.g. to send it a signal. */
  started?: (child: ReturnType<typeof spawn>) => void
}

/** Runs `rds-iam` from its TypeScript source as a real process, as a shell would. */
export function runCli(args: string[], { env, imports = [], started }: RunOptions): Promise<CliResult> {
  const child = spawn(process.execPath, [...cliNodeArgs(imports), ...args], { cwd: packageDir, env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  started?.(child)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Node's arguments that run the CLI from source; `imports` are loaded first. */
export function cliNodeArgs(imports: string[] = []): string[] {
  return [...imports.flatMap((module) => ['--import', module]), '--import', 'tsx', cliSource]
}

/** `rds-iam ...` as one line a shell runs from the package folder, each argument quoted. */
export function cliCommandLine(args: string[]): string {
  return [process.execPath, ...cliNodeArgs(), ...args]
    .map((word) => `'${word.replaceAll("'", "'\\''")}'`)
    .join(' ')
}

export { packageDir }
