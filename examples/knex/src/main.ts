// Knex with IAM authentication. Connection settings come from the libpq variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE) and credentials from the AWS default chain, so the same app runs against RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createKnex } from '@rds-iam/knex'
import { migrationSource } from './migrations'

const caFile = process.env.RDS_IAM_CA_FILE

const db = createKnex({
  connection: {
    // Only for the emulator or a private CA: RDS certificates are trusted without it.
    ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
    // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
    iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
  },
  pool: { min: 0, max: 5 },
})

try {
  await db.migrate.latest({ migrationSource })
  const { rows } = await db.raw<{ rows: { user: string }[] }>('select current_user as "user"')
  console.log(`connected as ${rows[0]?.user}`)

  const total = await db.transaction(async (trx) => {
    await trx('knex_notes').insert({ body: 'written with an IAM token' })
    const sum = await trx.raw<{ rows: { total: number }[] }>('select ?::int + ?::int as total', [40, 2])
    return sum.rows[0]?.total
  })
  console.log(`transaction result ${total}`)
} finally {
  await db.destroy()
}
