import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from './start-emulator.js'
import { signToken, startTestEmulator, uniqueName, waitForActiveQuery } from './testing/emulator-fixtures.js'

const run = promisify(execFile)
const user = uniqueName('psql_user')
let emulator: Emulator
let dir: string
let caFile: string

beforeAll(async () => {
  emulator = await startTestEmulator()
  await emulator.createIamUser(user)
  dir = await mkdtemp(join(tmpdir(), 'rds-iam-psql-test-'))
  caFile = join(dir, 'ca.pem')
  await writeFile(caFile, emulator.ca)
})

afterAll(async () => {
  await emulator?.close()
  await rm(dir, { recursive: true, force: true })
})

/** libpq connection string: dial 127.0.0.1, verify the certificate against the endpoint name. */
function conninfo(sslmode: string): string {
  return [
    `host=${emulator.endpoint}`,
    `hostaddr=${emulator.host}`,
    `port=${emulator.port}`,
    `user=${user}`,
    'dbname=postgres',
    `sslmode=${sslmode}`,
    `sslrootcert=${caFile}`,
  ].join(' ')
}

async function psqlEnv(): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, PGPASSWORD: await signToken(emulator, user), PGCONNECT_TIMEOUT: '20' }
}

describe('psql', () => {
  it('connects with sslmode=verify-full, and SQL sees an encrypted session from the client address', async () => {
    const { stdout } = await run(
      'psql',
      [
        '-X',
        '-A',
        '-t',
        '-c',
        'SELECT current_user, ssl, inet_client_addr() FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        conninfo('verify-full'),
      ],
      { env: await psqlEnv() },
    )
    // The upstream session runs over TLS from 127.0.0.1, where the emulator and its clients are.
    expect(stdout.trim()).toBe(`${user}|t|127.0.0.1`)
  })

  it('is refused without encryption, with the pg_hba message', async () => {
    const failure = run('psql', ['-X', '-c', 'SELECT 1', conninfo('disable')], { env: await psqlEnv() })
    await expect(failure).rejects.toMatchObject({
      stderr: expect.stringContaining(
        `FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "${user}", database "postgres", no encryption`,
      ),
    })
  })

  it('copies data in and out', async () => {
    const script = join(dir, 'copy.sql')
    await writeFile(
      script,
      'CREATE TEMP TABLE items (id int, name text);\nCOPY items FROM STDIN;\n1\tone\n2\ttwo\n\\.\nCOPY items TO STDOUT;\n',
    )
    const { stdout } = await run(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', script, conninfo('verify-full')],
      {
        env: await psqlEnv(),
      },
    )
    expect(stdout).toBe('1\tone\n2\ttwo\n')
  })

  it('cancels a running query on Ctrl-C through a plaintext CancelRequest', async () => {
    const child = spawn('psql', ['-X', '-c', 'SELECT pg_sleep(60)', conninfo('verify-full')], {
      env: await psqlEnv(),
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = once(child, 'exit')
    try {
      await waitForActiveQuery(emulator, user, 'pg_sleep(60)')
      child.kill('SIGINT')
      const [code] = await exited
      expect(code).not.toBe(0)
      expect(stderr).toContain('canceling statement due to user request')
      await emulator.waitForEvent((event) => event.type === 'cancel-forwarded')
    } finally {
      child.kill('SIGKILL')
    }
  })
})
