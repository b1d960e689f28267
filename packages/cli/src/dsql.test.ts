import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliEmulator, startCliEmulator } from './testing/cli-emulator'
import { isolatedEnv, runCli } from './testing/cli-process'

const run = promisify(execFile)
const suffix = Math.random().toString(16).slice(2, 10)
const role = `dsql_cli_${suffix}`
const deniedRole = `dsql_denied_${suffix}`
let target: CliEmulator
let emulator: CliEmulator['emulator']
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  // Like an IAM policy that allows dsql:DbConnect for every role but one.
  target = await startCliEmulator({ target: 'dsql', policy: ({ user }) => user !== deniedRole })
  ;({ emulator, env } = target)
  await emulator.createIamUser(role)
  await emulator.createIamUser(deniedRole)
})

afterAll(() => target?.close())

async function tokenOf(args: string[]): Promise<URL> {
  const result = await runCli(['token', ...args], { env })
  expect(result.code).toBe(0)
  return new URL(`https://${result.stdout.trim()}`)
}

async function psqlCurrentUser(url: string): Promise<string> {
  const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', 'select current_user', url], {
    env: isolatedEnv(target.dir),
  })
  return stdout.trim()
}

describe('the CLI against Aurora DSQL', () => {
  it('signs DbConnectAdmin for admin and DbConnect for a role, for the bare endpoint, as --admin / --no-admin say', async () => {
    const admin = await tokenOf(target.args('admin'))
    expect(admin.host).toBe(emulator.endpoint)
    expect(admin.searchParams.get('Action')).toBe('DbConnectAdmin')
    expect(admin.searchParams.has('DBUser')).toBe(false)
    expect((await tokenOf(target.args(role))).searchParams.get('Action')).toBe('DbConnect')
    expect((await tokenOf([...target.args('admin'), '--no-admin'])).searchParams.get('Action')).toBe(
      'DbConnect',
    )
    expect((await tokenOf([...target.args(role), '--admin'])).searchParams.get('Action')).toBe(
      'DbConnectAdmin',
    )
    const week = await tokenOf([...target.args(role), '--token-lifetime', '604800'])
    expect(week.searchParams.get('X-Amz-Expires')).toBe('604800')
  })

  it('reports the target in --json and refuses a lifetime past 7 days as usage', async () => {
    const result = await runCli(['token', '--json', ...target.args(role)], { env })
    expect(JSON.parse(result.stdout)).toMatchObject({
      target: 'dsql',
      tokenHost: emulator.endpoint,
      user: role,
    })
    const tooLong = await runCli(['token', ...target.args(role), '--token-lifetime', '604801'], { env })
    expect(tooLong.code).not.toBe(0)
    expect(tooLong.stderr).toContain('604800')
  })

  it('gives psql a URL that signs in as the role and as admin', async () => {
    for (const user of [role, 'admin']) {
      const result = await runCli(['url', ...target.args(user)], { env })
      expect(result.code).toBe(0)
      expect(await psqlCurrentUser(result.stdout.trim())).toBe(user)
    }
  })

  it('runs a tool with PGPASSWORD set by exec', async () => {
    const result = await runCli(
      ['exec', ...target.args(role), '--', 'psql', '-X', '-A', '-t', '-c', 'select current_user'],
      { env },
    )
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe(role)
  })

  it('doctor passes against the cluster and names the DSQL role check', async () => {
    const result = await runCli(['doctor', '--json', ...target.args(role)], { env })
    const report = JSON.parse(result.stdout) as {
      ok: boolean
      steps: { step: string; status: string; detail: string }[]
    }
    expect(report.ok).toBe(true)
    expect(report.steps.map((entry) => entry.step)).toContain('dsql_role')
    expect(report.steps.map((entry) => entry.step)).not.toContain('rds_iam')
    expect(report.steps.find((entry) => entry.step === 'dsql_role')?.detail).toContain('AWS IAM GRANT')
  })

  it("doctor fails at authentication naming DSQL's causes: the policy's dsql:DbConnect", async () => {
    const result = await runCli(['doctor', '--json', ...target.args(deniedRole)], { env })
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as {
      failedStep: string
      steps: { fix?: string; detail: string }[]
    }
    expect(report.failedStep).toBe('authentication')
    const failure = report.steps.at(-1)
    expect(failure?.detail).toContain('unable to accept connection, access denied')
    expect(failure?.fix).toContain(
      'allow dsql:DbConnect on arn:aws:dsql:us-east-1:<account>:cluster/<cluster-id>',
    )
  })

  it('doctor names the other action when --admin does not fit the role', async () => {
    const result = await runCli(['doctor', '--json', ...target.args(role), '--admin'], { env })
    const report = JSON.parse(result.stdout) as { failedStep: string; steps: { fix?: string }[] }
    expect(report.failedStep).toBe('authentication')
    expect(report.steps.at(-1)?.fix).toContain('DbConnectAdmin for the admin role only')
  })
})
