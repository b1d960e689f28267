import { createClient } from '@rds-iam/pg'
import { runHandler } from './run-handler'

runHandler(async ({ hostOptions, connectionString, iam }) => {
  const client = createClient(connectionString ? { connectionString, iam } : hostOptions)
  await client.connect()
  try {
    return (await client.query('select 1 as one')).rows
  } finally {
    await client.end()
  }
})
