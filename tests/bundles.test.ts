import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import type { Format } from 'esbuild'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { requireFreshBuild } from './bundles/built-packages'
import { bundleHandler } from './bundles/bundle-handler'
import type { HandlerOutcome, HandlerSettings } from './bundles/run-handler'

const run = promisify(execFile)
const testsDir = fileURLToPath(new URL('.', import.meta.url))
const handlersDir = join(testsDir, 'bundles')
const user = 'bundled_handler'

// Knex requires every dialect's driver from inside that dialect, so a bundled Knex app marks the drivers it does
// not use as external, as Knex's users do; they are never loaded for PostgreSQL.
const knexUnusedDrivers = [
  'better-sqlite3',
  'sqlite3',
  'mysql',
  'mysql2',
  'mariadb',
  'oracledb',
  'tedious',
  'pg-query-stream',
]

const adapters = [
  { handler: 'pg-pool', packages: ['core', 'pg'], external: [] },
  { handler: 'pg-client', packages: ['core', 'pg'], external: [] },
  { handler: 'postgres', packages: ['core', 'postgres'], external: [] },
  { handler: 'knex', packages: ['core', 'pg', 'knex'], external: knexUnusedDrivers },
  { handler: 'typeorm', packages: ['core', 'pg', 'typeorm'], external: [] },
  { handler: 'prisma', packages: ['core', 'pg', 'prisma'], external: [] },
]

// Both module formats Lambda tooling bundles a handler into.
const bundleFormats: Format[] = ['cjs', 'esm']

const connected: HandlerOutcome = { rows: [{ one: 1 }], tokensGenerated: 2, retries: 1 }

// Each handler runs as its own process, bundled into an empty folder with no node_modules anywhere above it, and
// unbundled against the built packages; all must come out the same.
describe.each(adapters)('$handler handler bundled with esbuild', ({ handler, packages, external }) => {
  let emulator: Emulator
  let workDir: string
  let caFile: string
  const bundles = new Map<Format, string>()

  beforeAll(async () => {
    await requireFreshBuild(packages)
    emulator = await startEmulator({ upstream: inject('postgres') })
    await emulator.createIamUser(user)
    workDir = await mkdtemp(join(tmpdir(), `rds-iam-bundle-${handler}-`))
    caFile = join(workDir, 'emulator-ca.pem')
    await writeFile(caFile, emulator.ca)
    for (const format of bundleFormats) {
      const outfile = await bundleHandler(
        join(handlersDir, `${handler}-handler.ts`),
        format,
        workDir,
        external,
      )
      bundles.set(format, outfile)
    }
  })
  afterAll(async () => {
    await emulator?.close()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  const runs = [
    { name: 'unbundled', command: () => ['--import', 'tsx', join(handlersDir, `${handler}-handler.ts`)] },
    ...bundleFormats.map((format) => ({
      name: `${format} bundle`,
      command: () => [bundles.get(format)!],
    })),
  ]

  async function runHandler(
    command: string[],
    settings: HandlerSettings,
    extraEnv: NodeJS.ProcessEnv = {},
  ): Promise<HandlerOutcome> {
    const { stdout } = await run(process.execPath, command, {
      cwd: testsDir,
      timeout: 30_000,
      // Credentials come through the AWS default chain, as on Lambda; HOME keeps any real ~/.aws out.
      env: {
        PATH: process.env.PATH,
        HOME: workDir,
        AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
        HANDLER_SETTINGS: JSON.stringify(settings),
        ...extraEnv,
      },
    })
    // The outcome is the handler's last line; a library may log before it (Knex's pool logs failed acquires).
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as HandlerOutcome
  }

  function hostSettings(): HandlerSettings {
    return {
      host: emulator.host,
      port: emulator.port,
      user,
      database: 'postgres',
      tokenHost: emulator.endpoint,
    }
  }

  it.each(runs)(
    '$name: with its own CA, a rejected token is retried and the query answers',
    async ({ command }) => {
      emulator.rejectNext(1)
      const outcome = await runHandler(command(), { ...hostSettings(), ca: emulator.ca })
      expect(outcome).toEqual(connected)
    },
  )

  it.each(runs)(
    '$name: with a connectionString, a rejected token is retried and the query answers',
    async ({ command }) => {
      emulator.rejectNext(1)
      const connectionString = `postgres://${user}@${emulator.host}:${emulator.port}/postgres?sslmode=verify-full&sslrootcert=${caFile}`
      const outcome = await runHandler(command(), { ...hostSettings(), connectionString })
      expect(outcome).toEqual(connected)
    },
  )

  // Default TLS verifies against the Amazon RDS CAs plus Node's roots, passed to TLS as an explicit `ca`, which
  // replaces Node's default store and with it NODE_EXTRA_CA_CERTS: the emulator's private CA cannot be made
  // trusted without leaving the default path. So the default path is shown by what it does: the CA bundle loads
  // and the emulator's certificate is refused, bundled exactly as unbundled.
  it('default TLS loads the CA bundle and refuses a certificate outside it, bundled as unbundled', async () => {
    const outcomes = []
    for (const { command } of runs) {
      emulator.rejectNext(0)
      outcomes.push(await runHandler(command(), hostSettings(), { NODE_EXTRA_CA_CERTS: caFile }))
    }
    const [unbundled, ...bundled] = outcomes
    expect(unbundled).toMatchObject({ error: { message: expect.stringMatching(/certificate/i) } })
    for (const outcome of bundled) expect(outcome).toEqual(unbundled)
  })
})
