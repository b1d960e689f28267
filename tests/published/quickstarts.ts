// Each adapter README's quickstart (its first ```ts block), as a user pastes it into a TypeScript file: the
// README's code verbatim, with what it leaves to the reader before it (the entities, migrations or generated
// client it names) and after it (a query that says who signed in, and closing the pool so the process ends).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packagesDir = fileURLToPath(new URL('../../packages/', import.meta.url))

/** The RDS name every quickstart signs in to; the emulator serves it. */
export const README_HOST = 'mydb.cluster-abc123.eu-west-1.rds.amazonaws.com'

export interface Quickstart {
  adapter: string
  /** What the README's install line installs, the packages counted for it. */
  installs: string[]
  /** TypeScript the quickstart needs defined before its code runs. */
  setup: string
  /** Prints `{"user": ...}` from a query on the quickstart's connection and closes it. */
  finish: string
  /** Files the quickstart's project needs beside it (Knex's migrations folder, Prisma's schema). */
  files?: Record<string, string>
}

export const QUICKSTARTS: Quickstart[] = [
  {
    adapter: 'pg',
    installs: ['@rds-iam/pg', 'pg'],
    setup: '',
    finish: `const [who] = (await pool.query('select current_user')).rows
console.log(JSON.stringify({ user: who.current_user, now: rows[0].now instanceof Date }))
await pool.end()`,
  },
  {
    adapter: 'postgres',
    installs: ['@rds-iam/postgres', 'postgres'],
    setup: '',
    finish: `const [who] = await sql\`select current_user\`
console.log(JSON.stringify({ user: who?.current_user, now: now instanceof Date }))
await sql.end()`,
  },
  {
    adapter: 'knex',
    installs: ['@rds-iam/knex', 'knex', 'pg'],
    setup: '',
    finish: `const who = await db.raw('select current_user')
console.log(JSON.stringify({ user: who.rows[0].current_user, notes: rows.length }))
await db.destroy()`,
    files: {
      'migrations/20240101000000_notes.cjs': `exports.up = (knex) => knex.schema.createTable('notes', (table) => {
  table.increments('id')
  table.text('body')
})
exports.down = (knex) => knex.schema.dropTable('notes')
`,
    },
  },
  {
    adapter: 'typeorm',
    installs: ['@rds-iam/typeorm', 'typeorm', 'pg', 'reflect-metadata'],
    setup: `const Note = new EntitySchema<{ id: number; body: string }>({
  name: 'typeorm_note',
  columns: { id: { type: Number, primary: true, generated: true }, body: { type: String } },
})
class CreateNotes1700000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('create table typeorm_note (id serial primary key, body text not null)')
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table typeorm_note')
  }
}`,
    finish: `const [who] = await dataSource.query('select current_user')
console.log(JSON.stringify({ user: who.current_user, notes: await dataSource.getRepository(Note).count() }))
await dataSource.destroy()`,
  },
  {
    adapter: 'prisma',
    installs: ['@rds-iam/prisma', '@prisma/adapter-pg', '@prisma/client', 'pg'],
    setup: '',
    finish: `const [who] = await prisma.$queryRaw<{ current_user: string }[]>\`select current_user\`
console.log(JSON.stringify({ user: who?.current_user }))
await prisma.$disconnect()`,
    files: {
      // Both module formats of the client: the README's path for ESM, a sibling for CommonJS.
      'prisma/schema.prisma': `generator client {
  provider            = "prisma-client"
  output              = "../generated/prisma"
  moduleFormat        = "esm"
  importFileExtension = "js"
}
generator cjs {
  provider            = "prisma-client"
  output              = "../generated/prisma-cjs"
  moduleFormat        = "cjs"
  importFileExtension = "js"
}
datasource db {
  provider = "postgresql"
}
model Note {
  id   Int    @id @default(autoincrement())
  body String
}
`,
    },
  },
]

/** The imports TypeORM's setup names beyond the README's own. */
const SETUP_IMPORTS: Record<string, string> = {
  typeorm: "import { EntitySchema, type MigrationInterface, type QueryRunner } from 'typeorm'",
}

/** The first ```ts block of the adapter's README. */
export async function readmeQuickstart(adapter: string): Promise<string> {
  const readme = await readFile(join(packagesDir, adapter, 'README.md'), 'utf8')
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  if (code === undefined) throw new Error(`packages/${adapter}/README.md has no \`\`\`ts block`)
  return code
}

/**
 * The quickstart as a `.mts` file (ES module, top-level await) and as a `.cts` file (CommonJS: the same imports,
 * which TypeScript turns into require calls, and the code in an async function).
 */
export function quickstartSources(quickstart: Quickstart, readmeCode: string): { mts: string; cts: string } {
  const lines = readmeCode.trimEnd().split('\n')
  const imports = lines.filter((line) => line.startsWith('import '))
  const body = lines.filter((line) => !line.startsWith('import ')).join('\n')
  const head = [...imports, SETUP_IMPORTS[quickstart.adapter] ?? ''].join('\n')
  const code = [quickstart.setup, body, quickstart.finish].join('\n')
  const cjsHead = head.replace("'./generated/prisma/client.js'", "'./generated/prisma-cjs/client.js'")
  return {
    mts: `${head}\n\n${code}\n`,
    cts: `${cjsHead}\n\nasync function main(): Promise<void> {\n${code}\n}\nmain().catch((error: unknown) => {\n  console.error(error)\n  process.exitCode = 1\n})\n`,
  }
}
