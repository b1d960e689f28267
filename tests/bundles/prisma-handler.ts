import { createPrismaAdapter } from '@rds-iam/prisma'
import { runHandler } from './run-handler'

// The driver adapter itself, as PrismaClient drives it: a generated client would add Prisma's own code only.
runHandler(async ({ hostOptions, connectionString, iam }) => {
  const adapter = await createPrismaAdapter(
    connectionString ? { connectionString, iam } : hostOptions,
  ).connect()
  try {
    const { columnNames, rows } = await adapter.queryRaw({ sql: 'select 1 as one', args: [], argTypes: [] })
    return rows.map((row) => Object.fromEntries(columnNames.map((name, column) => [name, row[column]])))
  } finally {
    await adapter.dispose()
  }
})
