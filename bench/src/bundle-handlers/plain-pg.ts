import pg from 'pg'
import { caListTls, inheritedDatabase, plainConnection, signerFor } from '../support/database'

const database = inheritedDatabase()
const signer = signerFor(database)
const pool = new pg.Pool({
  ...plainConnection(database),
  ssl: caListTls(database),
  password: () => signer.getAuthToken(),
})
pool.query('select 1').then(() => pool.end())
