import { createKnex } from '@rds-iam/knex'
import { runHandler } from './run-handler'

runHandler(async ({ hostOptions, connectionString, iam }) => {
  const db = createKnex({ connection: connectionString ? { connectionString, iam } : hostOptions })
  try {
    return (await db.raw<{ rows: unknown[] }>('select 1 as one')).rows
  } finally {
    await db.destroy()
  }
})
