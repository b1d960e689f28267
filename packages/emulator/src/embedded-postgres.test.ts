import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  copyForOtherUsers,
  type EmbeddedPostgres,
  locateEmbeddedPostgres,
  prepareEmbeddedPostgres,
} from './embedded-postgres.js'
import { findPostgresBinaries } from './postgres-binaries.js'
import { startPostgres } from './postgres-server.js'
import { resolveRunAs } from './run-as.js'
import { startEmulator } from './start-emulator.js'
import { clientConfig } from './testing/emulator-fixtures.js'
import { setup } from './testing/global-setup.js'
import { onPath, pathWithoutPostgres } from './testing/no-postgres-path.js'

const run = promisify(execFile)
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
const isRoot = process.getuid?.() === 0
const EMBEDDED_NOTICE = /starting PostgreSQL 18\.\d+ from @embedded-postgres\//

let shimDir: string
let embedded: EmbeddedPostgres
let systemMajor: number

beforeAll(async () => {
  shimDir = await pathWithoutPostgres()
  const located = await locateEmbeddedPostgres()
  if (!('nativeDir' in located)) throw new Error(located.missing)
  embedded = located
  const { stdout } = await run(onPath('initdb'), ['--version'])
  systemMajor = Number(/(\d+)\.\d+/.exec(stdout)?.[1])
})

afterAll(async () => {
  await rm(shimDir, { recursive: true, force: true })
})

afterEach(() => {
  vi.unstubAllEnvs()
})

interface CliRun {
  child: ChildProcess
  stdout: string
  stderr: string
}

/** Runs rds-iam-emulator until it says it is ready, as `user` when given. */
async function startCli(path: string, user?: string): Promise<CliRun> {
  const runAs = user === undefined ? undefined : await resolveRunAs([user])
  const child = spawn(process.execPath, ['--import', 'tsx', cli, '--user', 'app'], {
    env: { ...process.env, PATH: path },
    ...(runAs === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }),
  })
  const result = { child, stdout: '', stderr: '' }
  child.stderr?.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString()
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      result.stdout += chunk.toString()
      if (result.stdout.includes('psql (with the environment above)')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${result.stderr}`)))
  })
  return result
}

function printed(output: string, pattern: RegExp): string {
  const value = pattern.exec(output)?.[1]
  if (value === undefined) throw new Error(`${pattern} not in ${output}`)
  return value
}

/** Signs in as `app` through the emulator the CLI printed, with a real token; the server's major version. */
async function signInThroughCli({ stdout }: CliRun): Promise<number> {
  const endpoint = printed(stdout, /endpoint +(\S+):\d+/)
  const port = Number(printed(stdout, /listening on 127\.0\.0\.1:(\d+)/))
  const region = printed(stdout, /AWS_REGION=(\S+)/)
  const token = await new Signer({
    hostname: endpoint,
    port,
    region,
    username: 'app',
    credentials: {
      accessKeyId: printed(stdout, /AWS_ACCESS_KEY_ID=(\S+)/),
      secretAccessKey: printed(stdout, /AWS_SECRET_ACCESS_KEY=(\S+)/),
    },
  }).getAuthToken()
  const ca = await readFile(printed(stdout, /CA certificate +(\S+)/), 'utf8')
  return serverMajor({
    host: '127.0.0.1',
    port,
    user: 'app',
    password: token,
    database: 'postgres',
    ssl: { ca, servername: endpoint },
  })
}

async function serverMajor(config: pg.ClientConfig): Promise<number> {
  const client = new pg.Client(config)
  await client.connect()
  try {
    const { rows } = await client.query<{ user: string; version: number }>(
      "SELECT current_user AS user, current_setting('server_version_num')::int AS version",
    )
    expect(rows[0]?.user).toBe(config.user)
    return Math.floor((rows[0]?.version ?? 0) / 10_000)
  } finally {
    await client.end()
  }
}

async function stopCli({ child }: CliRun): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  expect(await exited).toEqual([0, null])
}

// Each test starts a cluster of its own to initdb, on a machine that may be busy.
describe('a machine without PostgreSQL', { timeout: 90_000 }, () => {
  it('hides the machine binaries from findPostgresBinaries with the test PATH', async () => {
    vi.stubEnv('PATH', shimDir)
    const found = await findPostgresBinaries()
    expect(found.embedded?.packageName).toMatch(/^@embedded-postgres\//)
    expect(found.initdb).toBe(join(embedded.nativeDir, 'bin', 'initdb'))
  })

  // Root hands PostgreSQL to the postgres user; a user other than root runs it as itself.
  const users: [string, string | undefined][] = isRoot
    ? [
        ['root', undefined],
        ['a user other than root', 'nobody'],
      ]
    : [['the user running the tests', undefined]]

  it.each(users)(
    'rds-iam-emulator started by %s runs the embedded PostgreSQL, says so, and takes a real token',
    async (_, user) => {
      const started = await startCli(shimDir, user)
      try {
        expect(started.stderr).toMatch(EMBEDDED_NOTICE)
        expect(await signInThroughCli(started)).toBe(18)
      } finally {
        await stopCli(started)
      }
    },
  )

  it('rds-iam-emulator prefers the machine PostgreSQL when PATH shows it, and says nothing of embedded', async () => {
    const started = await startCli(process.env.PATH ?? '')
    try {
      expect(started.stderr).not.toMatch(EMBEDDED_NOTICE)
      expect(await signInThroughCli(started)).toBe(systemMajor)
    } finally {
      await stopCli(started)
    }
    // Without that, the test above would not tell the two apart.
    expect(systemMajor).not.toBe(18)
  })

  it('the vitest globalSetup provides the embedded PostgreSQL, which startEmulator serves tokens from', async () => {
    vi.stubEnv('PATH', shimDir)
    let provided: Parameters<typeof startEmulator>[0]['upstream'] | undefined
    const stop = await setup({ provide: (_, value) => (provided = value) })
    vi.unstubAllEnvs()
    try {
      if (provided === undefined) throw new Error('the setup provided nothing')
      const emulator = await startEmulator({ upstream: provided })
      try {
        await emulator.createIamUser('setup_user')
        const password = await new Signer({
          hostname: emulator.endpoint,
          port: emulator.port,
          region: emulator.region,
          credentials: emulator.credentials,
          username: 'setup_user',
        }).getAuthToken()
        expect(await serverMajor(clientConfig(emulator, 'setup_user', password))).toBe(18)
      } finally {
        await emulator.close()
      }
    } finally {
      await stop()
    }
  })
})

describe('prepareEmbeddedPostgres', { timeout: 90_000 }, () => {
  let copyOfPackage: string | undefined
  // Copies go to a folder of these tests' own (which the postgres user may enter), never the one other test files
  // run PostgreSQL from.
  let copiesDir: string
  const sharedCopyOf = ({ packageName, version }: EmbeddedPostgres): string =>
    join(copiesDir, `rds-iam-embedded-postgres-${packageName.split('/')[1]}-${version}`)

  beforeAll(async () => {
    copiesDir = await mkdtemp(join(tmpdir(), 'rds-iam-copies-'))
    await chmod(copiesDir, 0o755)
  })

  afterAll(async () => {
    await rm(copiesDir, { recursive: true, force: true })
  })

  afterEach(async () => {
    if (copyOfPackage) await rm(copyOfPackage, { recursive: true, force: true })
  })

  it('links the libraries an install script that did not run leaves out, and copies the binaries where the user PostgreSQL runs as can reach them', async () => {
    // A copy of the package in a folder only its owner may enter (mkdtemp's mode 700), without the links its
    // install script makes: what pnpm 10 installs into a home folder by default.
    copyOfPackage = await mkdtemp(join(tmpdir(), 'rds-iam-closed-'))
    const packageDir = join(copyOfPackage, 'linux')
    await run('cp', ['-a', embedded.packageDir, packageDir])
    const links = JSON.parse(await readFile(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')) as {
      target: string
    }[]
    for (const { target } of links) await unlink(join(packageDir, target))
    const closed = { ...embedded, packageDir, nativeDir: join(packageDir, 'native') }
    const runAs = await resolveRunAs()
    const sharedCopy = sharedCopyOf(embedded)

    const lines: string[] = []
    const prepared = await prepareEmbeddedPostgres(closed, runAs, (line) => lines.push(line), copiesDir)

    for (const { target } of links) expect(existsSync(join(packageDir, target))).toBe(true)
    if (runAs) {
      expect(prepared.initdb).toBe(join(sharedCopy, 'bin', 'initdb'))
      expect(lines.join('\n')).toContain(`copying PostgreSQL from ${embedded.packageName} to ${sharedCopy}`)
    } else {
      expect(prepared.initdb).toBe(join(packageDir, 'native', 'bin', 'initdb'))
    }
    const server = await startPostgres({ binDir: join(prepared.initdb, '..') })
    try {
      expect(await serverMajor({ ...server, host: server.socketDir })).toBe(18)
    } finally {
      await server.stop()
    }
  })

  it('refuses a copy in the temporary directory that someone other than root could have changed', async () => {
    const sharedCopy = sharedCopyOf(embedded)
    await rm(sharedCopy, { recursive: true, force: true })
    await mkdir(join(sharedCopy, 'bin'), { recursive: true })
    await writeFile(join(sharedCopy, 'bin', 'initdb'), '#!/bin/sh\n', { mode: 0o755 })
    if (isRoot) await run('chown', ['-R', 'nobody', sharedCopy])
    else await chmod(sharedCopy, 0o777)
    try {
      await expect(copyForOtherUsers(embedded, () => undefined, copiesDir)).rejects.toThrow(
        `${sharedCopy} is not a folder only root can write to: remove it and try again`,
      )
    } finally {
      await rm(sharedCopy, { recursive: true, force: true })
    }
  })
})
