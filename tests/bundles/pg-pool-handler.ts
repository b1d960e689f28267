import { createPool } from '@rds-iam/pg'
import { runHandler } from './run-handler'

runHandler(async ({ hostOptions, connectionString, iam }) => {
  const pool = createPool(connectionString ? { connectionString, iam } : hostOptions)
  try {
    return (await pool.query('select 1 as one')).rows
  } finally {
    await pool.end()
  }
})
