// B1: one full connect (connect, `select 1`, end) through each adapter against the plain driver given a
// pre-made token, all verifying against the production-sized CA list. The plain driver is measured two ways: with
// one SecureContext built once (the careful hand-written baseline the target is measured against) and with the CA
// list passed per connection (what hand-written code often does, for reference).
import { createClient, createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import pg from 'pg'
import postgres from 'postgres'
import {
  adapterOptions,
  caListTls,
  plainConnection,
  prebuiltTls,
  signerFor,
  startBenchDatabase,
} from './support/database'
import { interleave, medians, timeMs } from './support/measure'
import { printMedians, verdict } from './support/report'

const rounds = 25
const database = await startBenchDatabase()
const plainConfig = { ...plainConnection(database), password: await signerFor(database).getAuthToken() }
const fastTls = prebuiltTls(database)
const slowTls = caListTls(database)
const iamOptions = adapterOptions(database)

async function connectPgClient(client: pg.Client): Promise<void> {
  await client.connect()
  await client.query('select 1')
  await client.end()
}

// A pool's connect opens a new connection each time: release(true) closes it instead of keeping it idle.
async function connectThroughPool(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  await client.query('select 1')
  client.release(true)
}

async function connectSql(sql: postgres.Sql): Promise<void> {
  await sql`select 1`
  await sql.end()
}

const plainPool = new pg.Pool({ ...plainConfig, ssl: fastTls, max: 1 })
const iamPool = createPool({ ...iamOptions, max: 1 })

const samples = await interleave(
  {
    'pg.Client, prebuilt TLS context': () =>
      timeMs(() => connectPgClient(new pg.Client({ ...plainConfig, ssl: fastTls }))),
    'pg.Client, CA list per connection': () =>
      timeMs(() => connectPgClient(new pg.Client({ ...plainConfig, ssl: slowTls }))),
    '@rds-iam/pg createClient': () => timeMs(() => connectPgClient(createClient(iamOptions))),
    'pg.Pool, prebuilt TLS context': () => timeMs(() => connectThroughPool(plainPool)),
    '@rds-iam/pg createPool': () => timeMs(() => connectThroughPool(iamPool)),
    'postgres(), prebuilt TLS context': () =>
      timeMs(() => connectSql(postgres({ ...plainConfig, ssl: fastTls, max: 1 }))),
    'postgres(), CA list per connection': () =>
      timeMs(() => connectSql(postgres({ ...plainConfig, ssl: slowTls, max: 1 }))),
    '@rds-iam/postgres createSql': () => timeMs(() => connectSql(createSql({ ...iamOptions, max: 1 }))),
  },
  rounds,
  2,
)
await Promise.all([plainPool.end(), iamPool.end()])
await database.stop()

const ms = medians(samples)
printMedians('one full connect: connect, select 1, end', ms, 'ms', rounds)
const target = { atMost: 1.05 }
verdict(
  'B1',
  'pg Client connect / plain pg.Client',
  ms['@rds-iam/pg createClient'] / ms['pg.Client, prebuilt TLS context'],
  target,
)
verdict(
  'B1',
  'pg Pool connect / plain pg.Pool',
  ms['@rds-iam/pg createPool'] / ms['pg.Pool, prebuilt TLS context'],
  target,
)
verdict(
  'B1',
  'postgres.js connect / plain postgres()',
  ms['@rds-iam/postgres createSql'] / ms['postgres(), prebuilt TLS context'],
  target,
)
