// postgres.js with IAM authentication. Connection settings come from the libpq variables (PGHOST, PGPORT,
// PGUSER, PGDATABASE) and credentials from the AWS default chain, so the same app runs against RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createSql } from '@rds-iam/postgres'

const caFile = process.env.RDS_IAM_CA_FILE

const sql = createSql({
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
})

try {
  const [row] = await sql`select current_user as "user"`
  console.log(`connected as ${row?.user}`)

  const total = await sql.begin(async (tx) => {
    const [result] = await tx`select ${40}::int + ${2}::int as total`
    return result?.total
  })
  console.log(`transaction result ${total}`)
} finally {
  await sql.end({ timeout: 5 })
}
