import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, isolatedEnv, removeDir, runCli } from './testing/cli-process'

const endpoint = 'cli-emu.cluster-abc123def456.eu-west-1.rds.amazonaws.com'
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rds-iam-cli-emulator-'))
})

afterAll(() => removeDir(dir))

function field(output: string, pattern: RegExp): string {
  const value = pattern.exec(output)?.[1]
  if (value === undefined) throw new Error(`${pattern} not found in ${output}`)
  return value
}

describe('rds-iam emulator', () => {
  // A cluster of its own to initdb, on a machine that may be busy.
  it.each([
    ['', []],
    [' with --direct', ['--direct']],
  ])(
    'serves an IAM user that rds-iam exec reaches with the printed settings%s, and cleans up on SIGTERM',
    {
      timeout: 90_000,
    },
    async (_, flags) => {
      let output = ''
      let signedIn: Promise<CliResult> | undefined
      const stopped = await runCli(['emulator', ...flags, '--endpoint', endpoint, '--user', 'emu_user'], {
        env: isolatedEnv(dir),
        started: (child) => {
          child.stdout?.on('data', (chunk: Buffer) => {
            output += chunk.toString()
            if (signedIn || !output.includes('rds-iam exec ')) return
            const env = {
              ...isolatedEnv(dir),
              AWS_ACCESS_KEY_ID: field(output, /AWS_ACCESS_KEY_ID=(\S+)/),
              AWS_SECRET_ACCESS_KEY: field(output, /AWS_SECRET_ACCESS_KEY=(\S+)/),
              AWS_REGION: field(output, /AWS_REGION=(\S+)/),
            }
            const options = field(output, /rds-iam exec (.+) -- psql/).split(' ')
            signedIn = runCli(
              ['exec', ...options, '--', 'psql', '-X', '-A', '-t', '-c', 'select current_user'],
              {
                env,
              },
            ).finally(() => child.kill('SIGTERM'))
          })
        },
      })
      expect(stopped.code).toBe(0)
      expect(field(output, /region +(\S+)/)).toBe('eu-west-1')
      expect(await signedIn).toMatchObject({ code: 0, stdout: 'emu_user\n' })
      expect(existsSync(field(output, /CA file +(\S+)/))).toBe(false)
    },
  )

  it('exits 2 on an invalid port', async () => {
    const result = await runCli(['emulator', '--port', '70000'], { env: isolatedEnv(dir) })
    expect(result.code).toBe(2)
  })

  it("exits 2 on --port with --direct, whose port is PostgreSQL's own", async () => {
    const result = await runCli(['emulator', '--direct', '--port', '6543'], { env: isolatedEnv(dir) })
    expect(result).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--port cannot be used with --direct'),
    })
  })
})
