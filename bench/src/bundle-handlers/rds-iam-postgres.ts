import { createSql } from '@rds-iam/postgres'
import { adapterOptions, inheritedDatabase } from '../support/database'

const sql = createSql(adapterOptions(inheritedDatabase()))
sql`select 1`.then(() => sql.end())
