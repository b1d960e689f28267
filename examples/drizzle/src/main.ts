// Drizzle over @rds-iam/pg (node-postgres) and over @rds-iam/postgres (postgres.js), each running the migrations
// with migrate(). Connection settings come from the libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE) and
// credentials from the AWS default chain, so the same app runs against RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import { eq, sql } from 'drizzle-orm'
import { drizzle as drizzleNodePostgres } from 'drizzle-orm/node-postgres'
import { migrate as migrateNodePostgres } from 'drizzle-orm/node-postgres/migrator'
import { drizzle as drizzlePostgresJs } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgresJs } from 'drizzle-orm/postgres-js/migrator'
import { notes } from './schema'

const caFile = process.env.RDS_IAM_CA_FILE
const settings = {
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
}
// Written by drizzle-kit generate; migrate() applies what the database has not seen yet.
const migrationsFolder = './drizzle'

const pool = createPool({ ...settings, max: 5 })
// An idle connection the server drops (a failover, a restart) is reported here; without a listener pg rethrows it
// and the process exits. The pool replaces the connection on the next checkout.
pool.on('error', (error) => console.error(`idle connection lost: ${error.message}`))
const overPg = drizzleNodePostgres(pool)

// postgres.js reports dropped connections through the failed query; it needs no listener.
// postgres.js prints every server notice by default; a second migrate() run only says that its tables exist.
const client = createSql({ ...settings, max: 5, onnotice: () => {} })
const overPostgresJs = drizzlePostgresJs(client)

try {
  await migrateNodePostgres(overPg, { migrationsFolder })
  const { rows } = await overPg.execute<{ user: string }>(sql`select current_user as "user"`)
  console.log(`connected as ${rows[0]?.user} over node-postgres`)

  await migratePostgresJs(overPostgresJs, { migrationsFolder })
  const total = await overPostgresJs.transaction(async (tx) => {
    const [note] = await tx.insert(notes).values({ body: 'written with an IAM token' }).returning()
    if (note) await tx.delete(notes).where(eq(notes.id, note.id))
    const [sum] = await tx.execute<{ total: number }>(sql`select ${40}::int + ${2}::int as total`)
    return sum?.total
  })
  console.log(`transaction result ${total} over postgres.js`)
} finally {
  await Promise.all([pool.end(), client.end({ timeout: 5 })])
}
