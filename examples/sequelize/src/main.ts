// Sequelize with IAM authentication: its `dialectModule` is pg with the IAM Client, so every connection Sequelize
// opens signs in with a token and retries a rejected one. Connection settings come from the libpq variables
// (PGHOST, PGPORT, PGUSER, PGDATABASE) and credentials from the AWS default chain, so the same app runs against
// RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createClientClass } from '@rds-iam/pg'
import pg from 'pg'
import { DataTypes, QueryTypes, Sequelize } from 'sequelize'

const caFile = process.env.RDS_IAM_CA_FILE

const Client = createClientClass({
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
})

// Where to connect and how to sign in belong to the Client: Sequelize's own host, port and password are not used.
const sequelize = new Sequelize({
  dialect: 'postgres',
  dialectModule: Object.create(pg, { Client: { value: Client } }),
  logging: false,
  pool: { max: 5 },
})

const Note = sequelize.define(
  'Note',
  { body: { type: DataTypes.TEXT, allowNull: false } },
  { tableName: 'sequelize_notes' },
)

try {
  const [row] = await sequelize.query<{ user: string }>('select current_user as "user"', {
    type: QueryTypes.SELECT,
  })
  console.log(`connected as ${row?.user}`)

  await Note.sync()
  const total = await sequelize.transaction(async (transaction) => {
    const note = await Note.create({ body: 'written with an IAM token' }, { transaction })
    await note.destroy({ transaction })
    const [sum] = await sequelize.query<{ total: number }>('select $1::int + $2::int as total', {
      bind: [40, 2],
      type: QueryTypes.SELECT,
      transaction,
    })
    return sum?.total
  })
  console.log(`transaction result ${total}`)
} finally {
  await sequelize.close()
}
