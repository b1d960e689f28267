import { createPool } from '@rds-iam/pg'
import { adapterOptions, inheritedDatabase } from '../support/database'

const pool = createPool(adapterOptions(inheritedDatabase()))
pool.query('select 1').then(() => pool.end())
