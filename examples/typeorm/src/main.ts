// TypeORM with IAM authentication. Connection settings come from the libpq variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE) and credentials from the AWS default chain, so the same app runs against RDS and the emulator.
import 'reflect-metadata'
import { readFileSync } from 'node:fs'
import { createDataSource } from '@rds-iam/typeorm'
import { CreateTypeormNotes1735689600000, NoteEntity } from './notes'

const caFile = process.env.RDS_IAM_CA_FILE

const dataSource = createDataSource({
  type: 'postgres',
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
  entities: [NoteEntity],
  migrations: [CreateTypeormNotes1735689600000],
  poolSize: 5,
})

await dataSource.initialize()
try {
  await dataSource.runMigrations()
  const [row] = await dataSource.query<{ user: string }[]>('select current_user as "user"')
  console.log(`connected as ${row?.user}`)

  const total = await dataSource.transaction(async (manager) => {
    const note = await manager.getRepository(NoteEntity).save({ body: 'written with an IAM token' })
    await manager.getRepository(NoteEntity).delete(note.id)
    const [sum] = await manager.query<{ total: number }[]>('select $1::int + $2::int as total', [40, 2])
    return sum?.total
  })
  console.log(`transaction result ${total}`)
} finally {
  await dataSource.destroy()
}
