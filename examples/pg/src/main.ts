// node-postgres with IAM authentication. Connection settings come from the libpq variables (PGHOST, PGPORT,
// PGUSER, PGDATABASE) and credentials from the AWS default chain, so the same app runs against RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createPool } from '@rds-iam/pg'

const caFile = process.env.RDS_IAM_CA_FILE

const pool = createPool({
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
})

try {
  const { rows } = await pool.query('select current_user as "user", version() as version')
  console.log(`connected as ${rows[0].user}`)

  const client = await pool.connect()
  try {
    await client.query('begin')
    const { rows: sum } = await client.query('select $1::int + $2::int as total', [40, 2])
    await client.query('commit')
    console.log(`transaction result ${sum[0].total}`)
  } finally {
    client.release()
  }
} finally {
  await pool.end()
}
