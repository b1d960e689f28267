// B1 on Aurora DSQL: one full connect (connect, `select 1`, end) through @rds-iam/pg against AWS's own
// node-postgres connector (@aws/aurora-dsql-node-postgres-connector) doing the same work in the same run, against a
// DSQL-mode emulator. Both dial the cluster endpoint by name, verify against the production CA list and take the
// emulator's key from the environment through their default credential chains; rds-iam keeps its token and its
// credentials across connects, the connector signs (and resolves credentials) for every one.
import { AuroraDSQLClient, AuroraDSQLPool } from '@aws/aurora-dsql-node-postgres-connector'
import { createClient, createPool, type IamEvent } from '@rds-iam/pg'
import type pg from 'pg'
import { connectClient, connectThroughPool, measureConnects } from './support/connect-once'
import { startBenchDatabase } from './support/database'
import {
  awsConnection,
  countOfficialTokens,
  iamConnection,
  resolveEndpointLocally,
  useEnvironmentCredentials,
} from './support/dsql'
import { type Cost, medianCost, pairedRatio } from './support/measure'
import { format, verdict } from './support/report'

const rounds = 100
const database = await startBenchDatabase('dsql')
resolveEndpointLocally(database)
useEnvironmentCredentials(database)
const officialTokens = countOfficialTokens()
const connection = iamConnection(database)
const official = awsConnection(database)
// Both rds-iam variants share the process-wide token cache, so their tokens are counted together.
let iamTokens = 0
const iam = { onEvent: (event: IamEvent) => event.type === 'token-generated' && iamTokens++ }
// One options object, as an application keeps its config: createClient reuses the IAM set-up made for it.
const iamOptions = { ...connection, iam }
const iamPool = createPool({ ...connection, max: 1, iam })
const awsPool = new AuroraDSQLPool({ ...official, max: 1 }) as unknown as pg.Pool

const variants = {
  'AWS AuroraDSQLClient': () => connectClient(new AuroraDSQLClient({ ...official }) as unknown as pg.Client),
  '@rds-iam/pg createClient': () => connectClient(createClient(iamOptions)),
  'AWS AuroraDSQLPool': () => connectThroughPool(awsPool),
  '@rds-iam/pg createPool': () => connectThroughPool(iamPool),
}
type Variant = keyof typeof variants
const entries = Object.entries(variants) as [Variant, () => Promise<void>][]
const samples = await measureConnects(variants, rounds)
await Promise.all([iamPool.end(), awsPool.end()])
await database.stop()

console.log(
  `Aurora DSQL: one full connect: connect, select 1, end (median of ${rounds})   wall ms   client CPU ms`,
)
for (const [name] of entries) {
  const { wallMs, cpuMs } = medianCost(samples[name])
  console.log(`  ${name.padEnd(28)} ${format(wallMs).padStart(7)} ${format(cpuMs).padStart(10)}`)
}
console.log(`  tokens signed: AWS connector ${officialTokens()}, @rds-iam/pg (both) ${iamTokens}`)
const ratio = (adapter: Variant, official: Variant, measure: keyof Cost) =>
  pairedRatio(
    samples[adapter].map((sample) => sample[measure]),
    samples[official].map((sample) => sample[measure]),
  )
for (const [kind, adapter, official] of [
  ['Client', '@rds-iam/pg createClient', 'AWS AuroraDSQLClient'],
  ['Pool', '@rds-iam/pg createPool', 'AWS AuroraDSQLPool'],
] as const) {
  verdict('B1-DSQL', `${kind} connect / AWS connector, wall`, ratio(adapter, official, 'wallMs'), {
    atMost: 1,
  })
  verdict('B1-DSQL', `${kind} connect / AWS connector, client CPU`, ratio(adapter, official, 'cpuMs'), {
    atMost: 1,
  })
}
