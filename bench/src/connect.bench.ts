// B1: one full connect (connect, `select 1`, end) through each adapter against the plain driver given a
// pre-made token, all verifying against the production-sized CA list. The plain driver is measured two ways: with
// one SecureContext built once (the careful hand-written baseline the target is measured against) and with the CA
// list passed per connection (what hand-written code often does, for reference). Clock time includes the
// emulator's side; the client's own CPU time, which is where a CA list parsed per connection shows, is steadier
// on a shared machine. Both are judged, each as the median of round-by-round ratios.
import { createClient, createClientClass, createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import pg from 'pg'
import postgres from 'postgres'
import { connectClient, connectThroughPool, measureConnects } from './support/connect-once'
import {
  adapterOptions,
  caListTls,
  plainConnection,
  prebuiltTls,
  signerFor,
  startBenchDatabase,
} from './support/database'
import { type Cost, medianCost, pairedRatio } from './support/measure'
import { format, verdict } from './support/report'

const rounds = 120
const database = await startBenchDatabase()
const plainConfig = { ...plainConnection(database), password: await signerFor(database).getAuthToken() }
const fastTls = prebuiltTls(database)
const slowTls = caListTls(database)
const iamOptions = adapterOptions(database)

async function connectSql(sql: postgres.Sql): Promise<void> {
  await sql`select 1`
  await sql.end()
}

// One IamAuth for every client it makes, where createClient() makes one per call: shows what a TLS context
// shared across IamAuths would save createClient().
const IamClient = createClientClass(iamOptions)
// A client or `sql` made per connect from one options object, as an application keeps its config: both adapters
// then reuse the IAM set-up they made for it (see the README), as `createClient(iamOptions)` does below.
const sqlOptions = { ...iamOptions, max: 1 }
const plainPool = new pg.Pool({ ...plainConfig, ssl: fastTls, max: 1 })
const iamPool = createPool({ ...iamOptions, max: 1 })

const variants = {
  'pg.Client, prebuilt TLS context': () => connectClient(new pg.Client({ ...plainConfig, ssl: fastTls })),
  'pg.Client, CA list per connection': () => connectClient(new pg.Client({ ...plainConfig, ssl: slowTls })),
  '@rds-iam/pg createClient': () => connectClient(createClient(iamOptions)),
  '@rds-iam/pg new (createClientClass)': () => connectClient(new IamClient()),
  'pg.Pool, prebuilt TLS context': () => connectThroughPool(plainPool),
  '@rds-iam/pg createPool': () => connectThroughPool(iamPool),
  'postgres(), prebuilt TLS context': () => connectSql(postgres({ ...plainConfig, ssl: fastTls, max: 1 })),
  'postgres(), CA list per connection': () => connectSql(postgres({ ...plainConfig, ssl: slowTls, max: 1 })),
  '@rds-iam/postgres createSql': () => connectSql(createSql(sqlOptions)),
}
type Variant = keyof typeof variants
const entries = Object.entries(variants) as [Variant, () => Promise<void>][]
const samples = await measureConnects(variants, rounds)
await Promise.all([plainPool.end(), iamPool.end()])
await database.stop()

const cost = Object.fromEntries(entries.map(([name]) => [name, medianCost(samples[name])])) as Record<
  Variant,
  Cost
>
console.log(`one full connect: connect, select 1, end (median of ${rounds})   wall ms   client CPU ms`)
for (const [name] of entries) {
  console.log(
    `  ${name.padEnd(36)} ${format(cost[name].wallMs).padStart(7)} ${format(cost[name].cpuMs).padStart(10)}`,
  )
}
const pairs = [
  ['pg Client', '@rds-iam/pg createClient', 'pg.Client, prebuilt TLS context'],
  ['pg Pool', '@rds-iam/pg createPool', 'pg.Pool, prebuilt TLS context'],
  ['postgres.js', '@rds-iam/postgres createSql', 'postgres(), prebuilt TLS context'],
] as const
const ratio = (adapter: Variant, plain: Variant, measure: keyof Cost) =>
  pairedRatio(
    samples[adapter].map((sample) => sample[measure]),
    samples[plain].map((sample) => sample[measure]),
  )
for (const [driver, adapter, plain] of pairs) {
  verdict('B1', `${driver} connect / plain driver, wall`, ratio(adapter, plain, 'wallMs'), { atMost: 1.05 })
  verdict('B1', `${driver} connect / plain driver, client CPU`, ratio(adapter, plain, 'cpuMs'), {
    atMost: 1.05,
  })
}
