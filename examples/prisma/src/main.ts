// Prisma with IAM authentication through the @prisma/adapter-pg driver adapter. Connection settings come from the
// libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE) and credentials from the AWS default chain, so the same app
// runs against RDS and the emulator.
import { readFileSync } from 'node:fs'
import { createPrismaAdapter, rdsIamErrorOf } from '@rds-iam/prisma'
import { PrismaClient } from './generated/client.ts'

const caFile = process.env.RDS_IAM_CA_FILE

const adapter = createPrismaAdapter(
  {
    // Only for the emulator or a private CA: RDS certificates are trusted without it.
    ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
    // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
    iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
    max: 5,
  },
  // An idle connection the server drops (a failover, a restart) is reported here; the pool replaces it.
  { onPoolError: (error) => console.error(`idle connection lost: ${error.message}`) },
)
const prisma = new PrismaClient({ adapter })

try {
  // Stands in for `rds-iam exec -- prisma migrate deploy`, which needs Prisma's schema engine. Prisma's models
  // live in the `public` schema unless the adapter's `schema` option names another.
  await prisma.$executeRawUnsafe(
    'create table if not exists public.prisma_notes (id serial primary key, body text not null)',
  )
  const [row] = await prisma.$queryRaw<{ user: string }[]>`select current_user::text as "user"`
  console.log(`connected as ${row?.user}`)

  const total = await prisma.$transaction(async (tx) => {
    const note = await tx.note.create({ data: { body: 'written with an IAM token' } })
    await tx.note.delete({ where: { id: note.id } })
    const [sum] = await tx.$queryRaw<{ total: number }[]>`select ${40}::int + ${2}::int as total`
    return sum?.total
  })
  console.log(`transaction result ${total}`)
} catch (error) {
  // Prisma rethrows a failed sign-in as its own error; this gives back the RdsIamError with its hint.
  const iamError = rdsIamErrorOf(error)
  if (iamError) console.error(`${iamError.code}: ${iamError.hint}`)
  throw error
} finally {
  await prisma.$disconnect()
}
