import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliEmulator, startCliEmulator } from './testing/cli-emulator'
import { runCli } from './testing/cli-process'

const user = `exec_${Math.random().toString(16).slice(2, 10)}`
const table = `${user}_items`
let target: CliEmulator
let env: NodeJS.ProcessEnv
let args: string[]

beforeAll(async () => {
  target = await startCliEmulator()
  await target.emulator.createIamUser(user)
  await target.emulator.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text NOT NULL)`)
  await target.emulator.query(`ALTER TABLE ${table} OWNER TO ${user}`)
  env = target.env
  args = target.args(user)
})

afterAll(async () => {
  await target?.emulator.query(`DROP TABLE IF EXISTS ${table}`)
  await target?.close()
})

/** Waits until the process prints `marker`, so a signal sent next reaches a command that is ready for it. */
function printed(child: { stdout: NodeJS.ReadableStream | null }, marker: string): Promise<void> {
  return new Promise((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(marker)) resolve()
    })
  })
}

describe('rds-iam exec', () => {
  it('runs psql signed in', async () => {
    const result = await runCli(
      ['exec', ...args, '--', 'psql', '-X', '-A', '-t', '-c', 'select current_user'],
      { env },
    )
    expect(result).toMatchObject({ code: 0, stdout: `${user}\n` })
  })

  it('runs pg_dump --schema-only', async () => {
    const result = await runCli(['exec', ...args, '--', 'pg_dump', '--schema-only', '--table', table], {
      env,
    })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`CREATE TABLE public.${table} (`)
    expect(result.stdout).toContain('name text NOT NULL')
  })

  it('passes the exit code through', async () => {
    const result = await runCli(['exec', ...args, '--', 'sh', '-c', 'exit 7'], { env })
    expect(result.code).toBe(7)
  })

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    'forwards %s to the command and exits as it does',
    async (signal) => {
      const script = `process.on('${signal}', () => process.exit(42)); setInterval(() => {}, 1000); console.log('ready')`
      const result = await runCli(['exec', ...args, '--', process.execPath, '-e', script], {
        env,
        started: (child) => {
          printed(child, 'ready').then(() => child.kill(signal))
        },
      })
      expect(result.code).toBe(42)
    },
  )

  it('ends by the same signal when the command is killed by it', async () => {
    const result = await runCli(['exec', ...args, '--', 'sh', '-c', 'echo ready; exec sleep 30'], {
      env,
      started: (child) => {
        printed(child, 'ready').then(() => child.kill('SIGTERM'))
      },
    })
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM' })
  })

  it('exits 127 when the command does not exist', async () => {
    const result = await runCli(['exec', ...args, '--', 'no-such-command-for-rds-iam'], { env })
    expect(result.code).toBe(127)
    expect(result.stderr).toContain('command not found: no-such-command-for-rds-iam')
  })

  it('refuses to start the command with a token that has less than 14 minutes left', async () => {
    const expiringEnv = {
      ...env,
      AWS_SESSION_TOKEN: 'session-token',
      AWS_CREDENTIAL_EXPIRATION: new Date(Date.now() + 10 * 60_000).toISOString(),
    }
    const refused = await runCli(['exec', ...args, '--', 'sh', '-c', 'echo started'], { env: expiringEnv })
    expect(refused.code).toBe(1)
    expect(refused.stdout).not.toContain('started')
    expect(refused.stderr).toMatch(/credentials expire at .*too soon/)
    // A token printed for immediate use may live shorter.
    expect((await runCli(['token', ...args], { env: expiringEnv })).code).toBe(0)
  })
})

describe('rds-iam exec with DATABASE_URL', () => {
  let direct: CliEmulator

  beforeAll(async () => {
    // Plain pg dials the URL's host, so the endpoint is the address itself, as for an RDS endpoint that resolves.
    direct = await startCliEmulator({ endpoint: '127.0.0.1' })
    await direct.emulator.createIamUser(user)
  })

  afterAll(() => direct?.close())

  it('lets a node script connect through plain pg', async () => {
    const script = [
      "import pg from 'pg'",
      'const client = new pg.Client({ connectionString: process.env.DATABASE_URL })',
      'await client.connect()',
      "const { rows } = await client.query('SELECT current_user AS name')",
      'console.log(rows[0].name)',
      'await client.end()',
    ].join('\n')
    const result = await runCli(
      ['exec', ...direct.args(user), '--', process.execPath, '--input-type=module', '-e', script],
      {
        env: direct.env,
      },
    )
    expect(result.stderr).toBe('')
    expect(result).toMatchObject({ code: 0, stdout: `${user}\n` })
  })

  it('unsets a PGHOSTADDR left over from an earlier tunnel', async () => {
    // Nothing listens on 127.0.0.2: psql would fail there if the stale address reached it.
    const result = await runCli(
      ['exec', ...direct.args(user), '--', 'psql', '-X', '-A', '-t', '-c', 'select 1'],
      {
        env: { ...direct.env, PGHOSTADDR: '127.0.0.2' },
      },
    )
    expect(result).toMatchObject({ code: 0, stdout: '1\n' })
  })
})
