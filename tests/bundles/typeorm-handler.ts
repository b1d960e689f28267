import { createDataSource } from '@rds-iam/typeorm'
import { runHandler } from './run-handler'

runHandler(async ({ hostOptions, connectionString, iam }) => {
  const { host, port, user, database, ssl } = hostOptions
  const dataSource = createDataSource(
    connectionString
      ? { type: 'postgres', url: connectionString, iam }
      : { type: 'postgres', host, port, username: user, database, ssl, iam },
  )
  await dataSource.initialize()
  try {
    return await dataSource.query('select 1 as one')
  } finally {
    await dataSource.destroy()
  }
})
