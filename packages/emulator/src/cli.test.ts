import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect as dial } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { DsqlSigner } from '@aws-sdk/dsql-signer'
import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { afterEach, describe, expect, it, vi } from 'vitest'

const run = promisify(execFile)
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
// Runs the TypeScript source, as the other tests do; the built bin is the same code bundled.
const nodeArgs = ['--import', 'tsx', cli]
const children: ChildProcessWithoutNullStreams[] = []

// Processes a test found running; whatever is left of them when it ends (a failure) is stopped.
const leftovers: number[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  for (const pid of leftovers.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGTERM')
})

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The processes started under `root`, each with its command line. */
async function processTree(root: number): Promise<{ pid: number; args: string }[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args='])
  const processes = stdout
    .trim()
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(line)!)
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args: args! }))
  const tree: { pid: number; args: string }[] = []
  const visit = (parent: number): void => {
    for (const child of processes.filter((process) => process.ppid === parent)) {
      tree.push(child)
      visit(child.pid)
    }
  }
  visit(root)
  return tree
}

/**
 * A folder where `npx --no-install rds-iam-emulator` finds the command as a project that installed the package
 * would: its `node_modules/.bin`, here a shim that runs the TypeScript source.
 */
async function npxProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rds-iam-npx-'))
  await writeFile(join(dir, 'package.json'), '{ "name": "npx-project", "private": true }\n')
  await mkdir(join(dir, 'node_modules', '.bin'), { recursive: true })
  const bin = join(dir, 'node_modules', '.bin', 'rds-iam-emulator')
  const tsx = import.meta.resolve('tsx')
  await writeFile(bin, `#!/bin/sh\nexec '${process.execPath}' --import '${tsx}' '${cli}' "$@"\n`)
  await chmod(bin, 0o755)
  return dir
}

// The PostgreSQL server process behind a session: the parent of its backend.
async function postmasterOf(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  const { stdout } = await run('ps', ['-o', 'ppid=', '-p', String(rows[0]!.pid)])
  return Number(stdout.trim())
}

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

  it('serves as an Aurora DSQL cluster with --target dsql, naming the DSQL token command', async () => {
    const child = spawn(process.execPath, [...nodeArgs, '--target', 'dsql', '--user', 'cli_role'])
    children.push(child)
    const output = await outputUntil(child, 'psql (with the environment above)')
    expect(output).toMatch(/^Aurora DSQL emulator ready/)
    expect(output).toContain(
      'aws dsql generate-db-connect-auth-token --hostname abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws',
    )
    const token = await new DsqlSigner({
      hostname: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws',
      region: 'us-east-1',
      credentials: {
        accessKeyId: field(output, /AWS_ACCESS_KEY_ID=(\S+)/),
        secretAccessKey: field(output, /AWS_SECRET_ACCESS_KEY=(\S+)/),
      },
    }).getDbConnectAuthToken()
    const conninfo = field(output, /psql "([^"]+)"/)
    const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', 'SELECT current_user', conninfo], {
      env: { ...process.env, PGPASSWORD: token },
    })
    expect(stdout.trim()).toBe('cli_role')
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
  })

  it('names rds-proxy in --help, and exits 2 on an unknown --target or rds-proxy with --direct', async () => {
    const { stdout } = await run(process.execPath, [...nodeArgs, '--help'])
    expect(stdout).toMatch(/--target <kind> +rds \(default\), dsql or rds-proxy/)
    expect(stdout).toContain('NODE_EXTRA_CA_CERTS=<file>')
    await expect(run(process.execPath, [...nodeArgs, '--target', 'proxy'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('invalid --target: proxy (rds, dsql or rds-proxy)'),
    })
    await expect(
      run(process.execPath, [...nodeArgs, '--target', 'rds-proxy', '--direct']),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--target rds-proxy cannot be used with --direct'),
    })
  })

  it('serves as an RDS Proxy endpoint with --target rds-proxy, whose stand-in root psql and a Node process trust as printed', async () => {
    const child = spawn(process.execPath, [...nodeArgs, '--target', 'rds-proxy', '--user', 'cli_proxy'])
    children.push(child)
    const output = await outputUntil(child, 'psql (with the environment above)')
    expect(output).toMatch(/^RDS Proxy emulator ready/)
    const endpoint = 'demo.proxy-abc123def456.us-east-1.rds.amazonaws.com'
    expect(field(output, /endpoint +([^:\s]+):/)).toBe(endpoint)
    const port = Number(field(output, /listening on 127\.0\.0\.1:(\d+)/))
    const caFile = field(output, /CA certificate +(\S+)/)
    expect(output).toContain(`NODE_EXTRA_CA_CERTS=${caFile}`)
    expect(output).toContain(
      `aws rds generate-db-auth-token --hostname ${endpoint} --port ${port} --username cli_proxy`,
    )
    const signer = new Signer({
      hostname: endpoint,
      port,
      username: 'cli_proxy',
      region: 'us-east-1',
      credentials: {
        accessKeyId: field(output, /AWS_ACCESS_KEY_ID=(\S+)/),
        secretAccessKey: field(output, /AWS_SECRET_ACCESS_KEY=(\S+)/),
      },
    })
    const conninfo = field(output, /psql "([^"]+)"/)
    const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', 'SELECT current_user', conninfo], {
      env: { ...process.env, PGPASSWORD: await signer.getAuthToken() },
    })
    expect(stdout.trim()).toBe('cli_proxy')
    // A Node process with no CA configured: its default store trusts the stand-in root only through the variable.
    const script = `const pg = require('pg'); const c = new pg.Client({ host: '127.0.0.1', port: ${port}, user: 'cli_proxy', database: 'postgres', password: process.env.TOKEN, ssl: { servername: '${endpoint}' } }); c.connect().then(() => c.query('SELECT current_user AS u')).then((r) => { console.log(r.rows[0].u); return c.end() }, (e) => { console.log(e.code); process.exitCode = 1 })`
    const node = async (env: NodeJS.ProcessEnv): Promise<string> => {
      const result = await run(process.execPath, ['-e', script], {
        env: { ...process.env, TOKEN: await signer.getAuthToken(), ...env },
      }).catch((error: { stdout: string }) => error)
      return result.stdout.trim()
    }
    expect(await node({ NODE_EXTRA_CA_CERTS: caFile })).toBe('cli_proxy')
    expect(await node({ NODE_EXTRA_CA_CERTS: '' })).toBe('UNABLE_TO_GET_ISSUER_CERT_LOCALLY')
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
  })

  /**
   * Starts `npx rds-iam-emulator` under `timeout` and signs in through it; resolves with the processes of the
   * emulator and of its PostgreSQL, and its CA file.
   */
  async function startUnderTimeout(dir: string, timeoutFlags: string[], args: string[] = []) {
    const command = ['120', 'npx', '--no-install', 'rds-iam-emulator', ...args]
    const child = spawn('timeout', [...timeoutFlags, ...command], { cwd: dir })
    children.push(child)
    const output = await outputUntil(child, 'psql (with the environment above)')
    const emulator = (await processTree(child.pid!)).find(({ args }) => args.includes(cli))!.pid
    leftovers.push(emulator)
    const port = Number(field(output, /listening on 127\.0\.0\.1:(\d+)/))
    const endpoint = field(output, /endpoint +([^:\s]+):/)
    const caFile = field(output, /CA certificate +(\S+)/)
    const token = await new Signer({
      hostname: endpoint,
      port,
      username: 'app',
      region: 'us-east-1',
      credentials: {
        accessKeyId: field(output, /AWS_ACCESS_KEY_ID=(\S+)/),
        secretAccessKey: field(output, /AWS_SECRET_ACCESS_KEY=(\S+)/),
      },
    }).getAuthToken()
    const client = new pg.Client({
      ...{ host: '127.0.0.1', port, user: 'app', password: token, database: 'postgres' },
      ssl: { ca: await readFile(caFile, 'utf8'), servername: endpoint },
    })
    await client.connect()
    const postgres = await postmasterOf(client)
    await client.end()
    leftovers.push(postgres)
    return { timeout: child, emulator, postgres, caFile }
  }

  const running = (...pids: number[]): boolean[] => pids.map(isRunning)

  // timeout sends its signal to its process group, unless --foreground has it signal only npx, whose child then
  // loses its parent. Signalling timeout is what its deadline does, without the wait.
  it.each([
    ['timeout', []],
    ['timeout --foreground', ['--foreground']],
  ])(
    'started through npx under %s, ends with its PostgreSQL when timeout stops npx',
    { timeout: 60_000 },
    async (_, timeoutFlags) => {
      const dir = await npxProject()
      try {
        const { timeout, emulator, postgres, caFile } = await startUnderTimeout(dir, timeoutFlags)
        expect(running(emulator, postgres)).toEqual([true, true])
        const exited = once(timeout, 'exit')
        timeout.kill('SIGTERM')
        await exited
        await vi.waitFor(() => expect(running(emulator, postgres)).toEqual([false, false]), {
          timeout: 15_000,
          interval: 100,
        })
        expect(existsSync(caFile)).toBe(false)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  )

  it('with --outlive-parent, keeps running after npx is gone, until SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const dir = await npxProject()
    try {
      const started = await startUnderTimeout(dir, ['--foreground'], ['--outlive-parent'])
      const { timeout, emulator, postgres } = started
      const exited = once(timeout, 'exit')
      timeout.kill('SIGTERM')
      await exited
      // Three times as long as the emulator takes to notice a parent it watches.
      await sleep(1_500)
      expect(running(emulator, postgres)).toEqual([true, true])
      process.kill(emulator, 'SIGTERM')
      await vi.waitFor(() => expect(running(emulator, postgres)).toEqual([false, false]), {
        timeout: 15_000,
        interval: 100,
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
