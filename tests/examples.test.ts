import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

const run = promisify(execFile)
const examplesDir = new URL('../examples/', import.meta.url).pathname

// Each example runs as its own process on the built packages, configured only through the environment a user
// would set: the libpq variables and the AWS default credential chain.
describe('examples run against the emulator', () => {
  let emulator: Emulator
  let workDir: string
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    emulator = await startEmulator({ upstream: inject('postgres') })
    await emulator.createIamUser('example_user')
    // The ORM examples run their migrations: PostgreSQL 15 lets only the owner create tables in `public`, and
    // Drizzle creates a schema of its own.
    await emulator.query('grant create on database postgres to example_user')
    await emulator.query('grant create on schema public to example_user')
    workDir = await mkdtemp(join(tmpdir(), 'rds-iam-examples-'))
    const caFile = join(workDir, 'emulator-ca.pem')
    await writeFile(caFile, emulator.ca)
    env = {
      PATH: process.env.PATH,
      HOME: workDir,
      PGHOST: emulator.host,
      PGPORT: String(emulator.port),
      PGUSER: 'example_user',
      PGDATABASE: 'postgres',
      AWS_REGION: emulator.region,
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
      RDS_IAM_TOKEN_HOST: emulator.endpoint,
      RDS_IAM_CA_FILE: caFile,
    }
  })
  afterAll(async () => {
    await emulator?.close()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  // Every example with a src/main.ts runs; the demo has its own command.
  const examples = readdirSync(examplesDir).filter((name) =>
    existsSync(join(examplesDir, name, 'src/main.ts')),
  )

  it('finds the examples', () => {
    expect(examples).toEqual(expect.arrayContaining(['pg', 'postgres-js']))
  })

  for (const example of examples) {
    it(`${example} connects with IAM and runs a transaction`, async () => {
      const accepted = emulator.stats().accepted
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: join(examplesDir, example),
        env,
        timeout: 60_000,
      })
      expect(stdout).toContain('connected as example_user')
      expect(stdout).toContain('transaction result 42')
      expect(emulator.stats().accepted).toBeGreaterThan(accepted)
      expect(stdout).not.toContain('X-Amz-Signature')
    })
  }
})
