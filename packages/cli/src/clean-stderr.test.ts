import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliEmulator, startCliEmulator } from './testing/cli-emulator'
import { packageDir } from './testing/cli-process'

const run = promisify(execFile)
// The commands as installed: the built bin files, on the Node running the tests (each Node of the matrix).
const rdsIam = join(packageDir, 'bin', 'rds-iam.js')
const emulatorBin = fileURLToPath(new URL('../../emulator/bin/rds-iam-emulator.js', import.meta.url))
const user = `stderr_${Math.random().toString(16).slice(2, 10)}`
let target: CliEmulator

beforeAll(async () => {
  target = await startCliEmulator()
  await target.emulator.createIamUser(user)
})

afterAll(() => target?.close())

async function stderrOf(bin: string, args: string[]): Promise<string> {
  const { stderr } = await run(process.execPath, [bin, ...args], { env: target.env, timeout: 30_000 })
  return stderr
}

// A deprecation or experimental warning (the AWS SDK's, Node's own) reaches users on every run: none may print.
describe(`nothing on stderr on Node ${process.versions.node}`, () => {
  it('rds-iam --help, token, url, env and ca', async () => {
    const args = target.args(user)
    for (const command of [['--help'], ['token', ...args], ['url', ...args], ['env', ...args], ['ca']]) {
      expect({ command: command[0], stderr: await stderrOf(rdsIam, command) }).toEqual({
        command: command[0],
        stderr: '',
      })
    }
  })

  it('rds-iam exec running psql through the emulator', async () => {
    const args = ['exec', ...target.args(user), '--', 'psql', '-X', '-A', '-t', '-c', 'select current_user']
    const { stdout, stderr } = await run(process.execPath, [rdsIam, ...args], {
      env: target.env,
      timeout: 30_000,
    })
    expect({ stdout, stderr }).toEqual({ stdout: `${user}\n`, stderr: '' })
  })

  it('rds-iam doctor, which loads the STS client', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [rdsIam, 'doctor', '--json', ...target.args(user)],
      {
        env: target.env,
        timeout: 30_000,
      },
    )
    expect(JSON.parse(stdout)).toMatchObject({ ok: true })
    expect(stderr).toBe('')
  })

  it("exec hands the command the environment as the user gave it, without the SDK's switch set for rds-iam", async () => {
    const script = 'printenv AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED || echo unset'
    const args = ['exec', ...target.args(user), '--', 'sh', '-c', script]
    const unset = await run(process.execPath, [rdsIam, ...args], { env: target.env })
    const userSet = await run(process.execPath, [rdsIam, ...args], {
      env: { ...target.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' },
    })
    expect([unset.stdout, userSet.stdout]).toEqual(['unset\n', 'false\n'])
  })

  it('rds-iam-emulator --help', async () => {
    expect(await stderrOf(emulatorBin, ['--help'])).toBe('')
  })
})
