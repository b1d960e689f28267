import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { connect as dial } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import { afterEach, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
// Runs the TypeScript source, as the other tests do; the built bin is the same code bundled.
const nodeArgs = ['--import', 'tsx', cli]
const children: ChildProcessWithoutNullStreams[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Resolves with everything printed once `marker` appears on stdout. */
function outputUntil(child: ChildProcessWithoutNullStreams, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(marker)) resolve(output)
    })
    child.once('exit', (code) =>
      reject(new Error(`exited with ${code} before printing ${marker}: ${output}`)),
    )
  })
}

function field(output: string, pattern: RegExp): string {
  const value = pattern.exec(output)?.[1]
  if (value === undefined) throw new Error(`${pattern} not found in ${output}`)
  return value
}

describe('rds-iam-emulator', () => {
  it('prints its usage with --help and exits 0', async () => {
    const { stdout } = await run(process.execPath, [...nodeArgs, '--help'])
    expect(stdout).toContain('Usage: rds-iam-emulator [options]')
  })

  it('exits 2 on invalid arguments', async () => {
    await expect(run(process.execPath, [...nodeArgs, '--port', 'abc'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('invalid --port: abc'),
    })
  })

  it("refuses --port with --direct, whose port is PostgreSQL's own", async () => {
    await expect(run(process.execPath, [...nodeArgs, '--direct', '--port', '5433'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--port cannot be used with --direct'),
    })
  })

  it.each([
    ['', []],
    [' with --direct', ['--direct']],
  ])(
    'serves an IAM user that psql reaches with the printed settings%s, and cleans up on SIGTERM',
    async (_, flags) => {
      const endpoint = 'cli.cluster-abc123def456.eu-west-1.rds.amazonaws.com'
      const child = spawn(process.execPath, [
        ...nodeArgs,
        ...flags,
        '--endpoint',
        endpoint,
        '--user',
        'cli_user',
      ])
      children.push(child)
      const output = await outputUntil(child, 'psql (with the environment above)')
      const port = Number(field(output, /listening on 127\.0\.0\.1:(\d+)/))
      const caFile = field(output, /CA certificate +(\S+)/)
      expect(field(output, /region +(\S+)/)).toBe('eu-west-1')
      const token = await new Signer({
        hostname: endpoint,
        port,
        username: 'cli_user',
        region: 'eu-west-1',
        credentials: {
          accessKeyId: field(output, /AWS_ACCESS_KEY_ID=(\S+)/),
          secretAccessKey: field(output, /AWS_SECRET_ACCESS_KEY=(\S+)/),
        },
      }).getAuthToken()
      const conninfo = field(output, /psql "([^"]+)"/)
      const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', 'SELECT current_user', conninfo], {
        env: { ...process.env, PGPASSWORD: token },
      })
      expect(stdout.trim()).toBe('cli_user')

      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      expect(await exited).toEqual([0, null])
      expect(existsSync(caFile)).toBe(false)
      const refused = await new Promise((resolve) => {
        dial(port, '127.0.0.1').once('error', (error: NodeJS.ErrnoException) => resolve(error.code))
      })
      expect(refused).toBe('ECONNREFUSED')
    },
  )
})
