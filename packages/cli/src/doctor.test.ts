import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliEmulator, startCliEmulator } from './testing/cli-emulator'
import { cliCommandLine, isolatedEnv, packageDir, runCli } from './testing/cli-process'

const run = promisify(execFile)
const suffix = Math.random().toString(16).slice(2, 10)
const user = `doctor_${suffix}`
const deniedUser = `denied_${suffix}`
const passwordUser = `password_${suffix}`
const STEPS = [
  'options',
  'region',
  'credentials',
  'identity',
  'dns',
  'tcp',
  'tls',
  'authentication',
  'query',
  'rds_iam',
]
let target: CliEmulator
let emulator: CliEmulator['emulator']
let dir: string
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  // Like an IAM policy whose rds-db:connect does not cover one of the users.
  target = await startCliEmulator({ policy: ({ user: name }) => name !== deniedUser })
  ;({ emulator, dir, env } = target)
  await emulator.createIamUser(user)
  await emulator.createIamUser(deniedUser)
  await emulator.createPasswordUser(passwordUser, `pw-${suffix}`)
})

afterAll(() => target?.close())

/** `--name value` removed from the emulator's options. */
function without(name: string, args = target.args(user)): string[] {
  const at = args.indexOf(name)
  return [...args.slice(0, at), ...args.slice(at + 2)]
}

interface JsonReport {
  ok: boolean
  failedStep?: string
  steps: { step: string; status: string; detail: string; fix?: string }[]
}

async function doctor(args: string[], doctorEnv = env): Promise<{ code: number | null; report: JsonReport }> {
  const result = await runCli(['doctor', '--json', ...args], { env: doctorEnv })
  expect(result.stdout).not.toContain('X-Amz-Signature')
  expect(result.stderr).not.toContain('X-Amz-Signature')
  return { code: result.code, report: JSON.parse(result.stdout) }
}

/** Asserts the run stopped at `step`, every step before it passed or was skipped, and returns the failure. */
async function expectFailureAt(step: string, args: string[], doctorEnv = env) {
  const { code, report } = await doctor(args, doctorEnv)
  expect(code).toBe(1)
  expect(report.ok).toBe(false)
  expect(report.failedStep).toBe(step)
  expect(report.steps.map((entry) => entry.step)).toEqual(STEPS.slice(0, STEPS.indexOf(step) + 1))
  const failure = report.steps.at(-1)
  expect(failure?.status).toBe('fail')
  expect(failure?.fix).toBeTruthy()
  return failure as Required<JsonReport['steps'][number]>
}

describe('rds-iam doctor', () => {
  it('passes every step against a healthy emulator, skipping the identity when STS does not answer', async () => {
    const { code, report } = await doctor(target.args(user))
    expect(code).toBe(0)
    expect(report.ok).toBe(true)
    expect(report.steps.map(({ step, status }) => [step, status])).toEqual(
      STEPS.map((step) => [step, step === 'identity' ? 'skip' : 'pass']),
    )
    const detail = Object.fromEntries(report.steps.map((entry) => [entry.step, entry.detail]))
    expect(detail.region).toBe('us-east-1 (from the host name)')
    expect(detail.credentials).toContain('environment variables (AWS_ACCESS_KEY_ID)')
    expect(detail.identity).toContain('STS did not answer')
    expect(detail.tls).toContain('chains to "rds-iam emulator CA"')
    expect(detail.tls).toContain(`names ${emulator.endpoint}`)
    expect(detail.rds_iam).toBe(`${user} is a member of rds_iam`)
  })

  it('passes with a connection URL instead of the options', async () => {
    const { host, port, endpoint } = emulator
    const url = `postgres://${user}@${host}:${port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(target.caFile)}`
    const { code, report } = await doctor(['--url', url, '--token-host', endpoint])
    expect(report.steps.find((entry) => entry.status === 'fail')).toBeUndefined()
    expect(code).toBe(0)
  })

  it('prints each step with its fix as lines, without colours or progress when not on a terminal', async () => {
    const result = await runCli(['doctor', ...without('--ssl-root-cert')], { env })
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^pass {2}options {9}\S/m)
    expect(result.stdout).toMatch(/^FAIL {2}tls {13}.*\n {22}fix: Pass the PEM file/m)
    expect(result.stdout).toContain('Stopped at tls: fix it and run rds-iam doctor again.')
    expect(result.stdout).not.toMatch(/\x1b\[|\r/)
  })

  it('shows colours and a progress line on a terminal', async () => {
    // script(1) gives the doctor a pseudo-terminal, as a person's shell would.
    const command = cliCommandLine(['doctor', ...target.args(user)])
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env, cwd: packageDir }).catch(
      (error: { stdout: string }) => ({ stdout: `script failed: ${error.stdout}` }),
    )
    expect(stdout).toContain('\x1b[32mpass\x1b[39m')
    expect(stdout).toMatch(/checking(\x1b\[22m)?\r\x1b\[2K/)
  })

  it('shows the caller identity when STS answers', async () => {
    const sts = await startFakeSts('arn:aws:iam::123456789012:user/doctor')
    try {
      const { report } = await doctor(target.args(user), {
        ...env,
        AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
      })
      expect(report.steps.find((entry) => entry.step === 'identity')).toMatchObject({
        status: 'pass',
        detail: 'arn:aws:iam::123456789012:user/doctor (account 123456789012)',
      })
    } finally {
      sts.close()
    }
  })

  it('warns at tls with --ssl-mode require and goes on', async () => {
    const { code, report } = await doctor([...target.args(user), '--ssl-mode', 'require'])
    expect(code).toBe(0)
    const tls = report.steps.find((entry) => entry.step === 'tls')
    expect(tls).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('not verified (ssl-mode require)'),
    })
    expect(report.steps.at(-1)).toMatchObject({ step: 'rds_iam', status: 'pass' })
  })

  it('fails at options when nothing names a host', async () => {
    const failure = await expectFailureAt('options', ['--user', user])
    expect(failure.detail).toContain('No database host')
    expect(failure.fix).toContain('PGHOST')
  })

  it('fails at region when the region is not the endpoint’s', async () => {
    const failure = await expectFailureAt('region', [...target.args(user), '--region', 'eu-west-1'])
    expect(failure.detail).toContain(`${emulator.endpoint} is in us-east-1`)
    expect(failure.fix).toContain('--region us-east-1')
  })

  it('fails at credentials when there are none', async () => {
    const failure = await expectFailureAt('credentials', target.args(user), isolatedEnv(dir))
    expect(failure.detail).toContain('the default profile of ~/.aws, or the instance metadata service')
    expect(failure.fix).toContain('AWS_ACCESS_KEY_ID')
  })

  it('fails at tcp when the emulator is stopped', async () => {
    const stopped = await startCliEmulator()
    await stopped.emulator.close()
    try {
      const failure = await expectFailureAt('tcp', stopped.args(user))
      expect(failure.detail).toContain('ECONNREFUSED')
      expect(failure.fix).toContain(`Could not reach 127.0.0.1:${stopped.emulator.port}`)
    } finally {
      await stopped.close()
    }
  })

  it.each([
    [
      'answers the TLS request with N',
      (socket: Socket) => socket.once('data', () => socket.write('N')),
      'does not offer TLS',
    ],
    ['never answers', () => {}, 'timed out after 5 s'],
  ])('fails at tls when the server %s', async (_case, serve, detail) => {
    const server = createNetServer(serve)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const args = [...without('--port'), '--port', String((server.address() as AddressInfo).port)]
      const failure = await expectFailureAt('tls', args)
      expect(failure.detail).toContain(detail)
    } finally {
      server.close()
    }
  })

  it('fails at tls when the certificate is not trusted', async () => {
    const failure = await expectFailureAt('tls', without('--ssl-root-cert'))
    expect(failure.detail).toContain('issued by "rds-iam emulator CA", is not trusted')
    expect(failure.fix).toContain('--ssl-root-cert')
  })

  it('fails at tls when a tunnel is dialed without --token-host', async () => {
    const failure = await expectFailureAt('tls', without('--token-host'))
    expect(failure.detail).toContain(
      `dialing 127.0.0.1 without --token-host, but the server's certificate is for ${emulator.endpoint}`,
    )
    expect(failure.fix).toContain(`--token-host ${emulator.endpoint}`)
  })

  it('fails at authentication for a user without rds_iam', async () => {
    const failure = await expectFailureAt('authentication', target.args(passwordUser))
    expect(failure.detail).toMatch(
      /^not-iam-user: the server said 28P01 password authentication failed for user "password_/,
    )
    expect(failure.fix).toContain(`GRANT rds_iam TO "${passwordUser}"`)
  })

  it('fails at authentication when the IAM policy denies the user', async () => {
    const failure = await expectFailureAt('authentication', target.args(deniedUser))
    expect(failure.detail).toBe(
      `token-rejected: the server said 28000 PAM authentication failed for user "${deniedUser}"`,
    )
    expect(failure.fix).toContain('rds-db:connect')
  })
})

/** Answers GetCallerIdentity the way STS does (AWS query protocol, XML), for `arn`. */
async function startFakeSts(arn: string): Promise<Server> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'text/xml')
    response.end(
      `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}
