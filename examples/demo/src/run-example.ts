// How every example runs: as its own process on the built packages, configured only through what an application
// on RDS gets from its environment (the libpq variables and the AWS default credential chain), plus the two
// variables a local emulator needs: the RDS name it signs for and its CA. The demo and the tests both use it.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Emulator } from '@rds-iam/emulator'

const run = promisify(execFile)
const examplesDir = fileURLToPath(new URL('../../', import.meta.url))

/** The examples with a `src/main.ts`; the demo is a program of its own. */
export function listExamples(): string[] {
  return readdirSync(examplesDir).filter((name) => existsSync(join(examplesDir, name, 'src/main.ts')))
}

/** What an example printed. */
export interface ExampleOutput {
  stdout: string
  stderr: string
}

export interface ExampleRunner {
  /** Runs one example and gives its output; fails with its output when it exits non-zero. */
  run(example: string): Promise<ExampleOutput>
  /** Removes the files the runner made. */
  dispose(): Promise<void>
}

/** Prepares `user` on the emulator for the examples. */
export async function exampleRunner(emulator: Emulator, user: string): Promise<ExampleRunner> {
  const home = await mkdtemp(join(tmpdir(), 'rds-iam-examples-'))
  const caFile = join(home, 'emulator-ca.pem')
  await writeFile(caFile, emulator.ca)
  // The ORM examples run their migrations: PostgreSQL 15 lets only the owner create tables in `public`, and
  // Drizzle creates a schema of its own.
  await emulator.query(`grant create on database postgres to ${user}`)
  await emulator.query(`grant create on schema public to ${user}`)
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    PGHOST: emulator.host,
    PGPORT: String(emulator.port),
    PGUSER: user,
    PGDATABASE: 'postgres',
    AWS_REGION: emulator.region,
    AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    RDS_IAM_TOKEN_HOST: emulator.endpoint,
    RDS_IAM_CA_FILE: caFile,
  }
  return {
    async run(example) {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: join(examplesDir, example),
        env,
        timeout: 60_000,
      })
      return { stdout, stderr }
    },
    dispose: () => rm(home, { recursive: true, force: true }),
  }
}
