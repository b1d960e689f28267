// Kysely over an @rds-iam/pg pool. Connection settings come from the libpq variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE) and credentials from the AWS default chain, so the same app runs against RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createPool } from '@rds-iam/pg'
import { Kysely, PostgresDialect, sql } from 'kysely'

const caFile = process.env.RDS_IAM_CA_FILE

const pool = createPool({
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
  max: 5,
})
// An idle connection the server drops (a failover, a restart) is reported here; without a listener pg rethrows it
// and the process exits. The pool replaces the connection on the next checkout.
pool.on('error', (error) => console.error(`idle connection lost: ${error.message}`))

// Table types go here; the example only runs raw SQL.
const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) })

try {
  const { rows } = await sql<{ user: string }>`select current_user as "user"`.execute(db)
  console.log(`connected as ${rows[0]?.user}`)

  const total = await db.transaction().execute(async (trx) => {
    const sum = await sql<{ total: number }>`select ${40}::int + ${2}::int as total`.execute(trx)
    return sum.rows[0]?.total
  })
  console.log(`transaction result ${total}`)
} finally {
  // Ends the pool too.
  await db.destroy()
}
