import { createSql } from '@rds-iam/postgres'
import { runHandler } from './run-handler'

runHandler(async ({ hostOptions, connectionString, iam }) => {
  const sql = connectionString ? createSql(connectionString, { iam }) : createSql(hostOptions)
  try {
    return await sql`select 1 as one`
  } finally {
    await sql.end()
  }
})
