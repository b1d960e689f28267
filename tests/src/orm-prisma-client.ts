import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { PrismaPg } from '@prisma/adapter-pg'

const run = promisify(execFile)
const testsDir = new URL('../', import.meta.url).pathname

/** The part of a generated PrismaClient the tests use. */
export interface TestPrismaClient {
  $queryRawUnsafe<T = unknown>(sql: string): Promise<T>
  $transaction<T>(
    run: (tx: TestPrismaClient) => Promise<T>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<T>
  $disconnect(): Promise<void>
  note: {
    create(args: { data: { body: string } }): Promise<{ id: number; body: string }>
    update(args: { where: { id: number }; data: { body: string } }): Promise<{ id: number; body: string }>
    findMany(): Promise<{ id: number; body: string }[]>
    delete(args: { where: { id: number } }): Promise<unknown>
  }
}

export type TestPrismaClientClass = new (options: { adapter: PrismaPg }) => TestPrismaClient

/** A generated client with its folder, removed by `dispose`. */
export interface GeneratedClient {
  PrismaClient: TestPrismaClientClass
  dispose(): Promise<void>
}

/** The ends of the supported range, as installed in tests/ (package.json aliases). */
const releases = {
  // Prisma 7: no Rust engines at all, the datasource URL lives in prisma.config.ts (and is not needed here).
  newest: {
    cli: 'prisma',
    runtime: '@prisma/client',
    schemaHead: `generator client {
  provider = "prisma-client"
  output   = "client"
}
datasource db {
  provider = "postgresql"
}`,
  },
  // Prisma 6.7, the first whose client runs without the Rust query engine (engineType "client"), which cannot be
  // downloaded here; its driver adapter takes a pool config since 6.6.
  oldest: {
    cli: 'prisma-oldest',
    runtime: 'prisma-client-oldest',
    schemaHead: `generator client {
  provider        = "prisma-client"
  output          = "client"
  previewFeatures = ["driverAdapters", "queryCompiler"]
  engineType      = "client"
}
datasource db {
  provider = "postgresql"
  url      = "postgresql://unused@localhost/unused"
}`,
  },
}

export type PrismaRelease = keyof typeof releases

// The `note` model of every generated client, on a table of the caller's choice: tests create it with SQL
// (`prisma migrate` needs the schema engine, which cannot be downloaded here).
const noteModel = (table: string): string => `
model Note {
  id   Int    @id @default(autoincrement())
  body String
  @@map("${table}")
}
`

/**
 * Runs that release's real `prisma generate` offline (the schema engine it would download is replaced by
 * /bin/false, which generating never calls) into a fresh folder under tests/generated, and imports the client.
 */
export async function generatePrismaClient(
  release: PrismaRelease,
  notesTable = 'notes',
): Promise<GeneratedClient> {
  const { cli, runtime, schemaHead } = releases[release]
  await mkdir(join(testsDir, 'generated'), { recursive: true })
  const dir = await mkdtemp(join(testsDir, 'generated', `prisma-${release}-`))
  await writeFile(join(dir, 'schema.prisma'), `${schemaHead}\n${noteModel(notesTable)}`)
  await run(
    process.execPath,
    [join(testsDir, 'node_modules', cli, 'build/index.js'), 'generate', '--schema', 'schema.prisma'],
    {
      cwd: dir,
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
        PRISMA_QUERY_ENGINE_LIBRARY: '/bin/false',
        CHECKPOINT_DISABLE: '1',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
      timeout: 60_000,
    },
  )
  // The generated code loads its runtime as '@prisma/client/runtime/...'; the oldest runtime is installed as an alias.
  if (runtime !== '@prisma/client') await renameRuntimeImports(join(dir, 'client'), runtime)
  const { PrismaClient } = (await import(pathToFileURL(join(dir, 'client', 'client.ts')).href)) as {
    PrismaClient: TestPrismaClientClass
  }
  return { PrismaClient, dispose: () => rm(dir, { recursive: true, force: true }) }
}

async function renameRuntimeImports(dir: string, runtime: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const file = join(entry.parentPath, entry.name)
    const source = await readFile(file, 'utf8')
    await writeFile(file, source.replaceAll('@prisma/client/runtime/', `${runtime}/runtime/`))
  }
}
