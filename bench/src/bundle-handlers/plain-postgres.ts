import postgres from 'postgres'
import { caListTls, inheritedDatabase, plainConnection, signerFor } from '../support/database'

const database = inheritedDatabase()
const signer = signerFor(database)
const sql = postgres({
  ...plainConnection(database),
  ssl: caListTls(database),
  pass: () => signer.getAuthToken(),
})
sql`select 1`.then(() => sql.end())
