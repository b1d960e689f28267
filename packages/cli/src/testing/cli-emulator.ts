import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Emulator, type EmulatorOptions, startEmulator } from '@rds-iam/emulator'
import { inject } from 'vitest'
import { isolatedEnv, removeDir } from './cli-process'

/** An emulator as the CLI's tests reach it: its CA in a file, its keys in an environment, and the options. */
export interface CliEmulator {
  emulator: Emulator
  /** A temporary folder of the test file: the CA file, the CLI's cache folder. */
  dir: string
  caFile: string
  /** The isolated environment with the emulator's keys and region. */
  env: NodeJS.ProcessEnv
  /** Options that dial the emulator as a tunnel to its RDS endpoint name, trusting its CA, as `user`. */
  args(user: string): string[]
  close(): Promise<void>
}

/** Starts an emulator in front of the run's PostgreSQL (from the global setup). */
export async function startCliEmulator(options: Partial<EmulatorOptions> = {}): Promise<CliEmulator> {
  const emulator = await startEmulator({ upstream: inject('postgres'), ...options })
  const dir = await mkdtemp(join(tmpdir(), 'rds-iam-cli-test-'))
  const caFile = join(dir, 'emulator-ca.pem')
  await writeFile(caFile, emulator.ca)
  return {
    emulator,
    dir,
    caFile,
    env: {
      ...isolatedEnv(dir),
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
      AWS_REGION: emulator.region,
    },
    args: (user) => [
      ...['--host', emulator.host, '--port', String(emulator.port)],
      ...['--token-host', emulator.endpoint, '--user', user, '--database', 'postgres'],
      ...['--ssl-root-cert', caFile],
    ],
    async close() {
      await emulator.close()
      await removeDir(dir)
    },
  }
}
