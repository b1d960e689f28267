// B2 on Aurora DSQL: 200 concurrent connects on a cold pool, @rds-iam/pg's createPool against AWS's
// AuroraDSQLPool, in fresh processes against a DSQL-mode emulator: time, client CPU and tokens signed. Both dial
// the cluster endpoint by name, verify against the production CA list and find the emulator's key in the
// environment. DSQL admits 100 new connections a second (bursts of 1,000), so every token and every credential
// lookup a storm does not need is work its clients spend for nothing; the emulator does not rate-limit here.
import { AuroraDSQLPool } from '@aws/aurora-dsql-node-postgres-connector'
import { createPool } from '@rds-iam/pg'
import type pg from 'pg'
import { reportColdPool } from './support/cold-pool-report'
import type { BenchDatabase } from './support/database'
import {
  awsConnection,
  countOfficialTokens,
  iamConnection,
  resolveEndpointLocally,
  useEnvironmentCredentials,
} from './support/dsql'
import { type Cost, compareInFreshProcesses, measureCost } from './support/measure'

const connections = 200
const variants = ['aws-connector', 'rds-iam'] as const
type Variant = (typeof variants)[number]

async function connectAll(variant: Variant, database: BenchDatabase): Promise<Cost & { tokens: number }> {
  resolveEndpointLocally(database)
  useEnvironmentCredentials(database)
  const officialTokens = countOfficialTokens()
  let iamTokens = 0
  let pool: pg.Pool | undefined
  const cost = await measureCost(async () => {
    pool =
      variant === 'rds-iam'
        ? createPool({
            ...iamConnection(database),
            max: connections,
            iam: { onEvent: (event) => event.type === 'token-generated' && iamTokens++ },
          })
        : (new AuroraDSQLPool({ ...awsConnection(database), max: connections }) as unknown as pg.Pool)
    const clients = await Promise.all(Array.from({ length: connections }, () => pool!.connect()))
    for (const client of clients) client.release()
  })
  await pool?.end()
  return { ...cost, tokens: variant === 'rds-iam' ? iamTokens : officialTokens() }
}

const runs = await compareInFreshProcesses(import.meta.url, variants, 7, connectAll, 'dsql')
if (runs) {
  reportColdPool({
    id: 'B2-DSQL',
    title: `Aurora DSQL: ${connections} concurrent connects on a cold pool`,
    runs,
    labels: { 'aws-connector': 'AWS AuroraDSQLPool', 'rds-iam': '@rds-iam/pg createPool' },
    subject: 'rds-iam',
    baseline: 'aws-connector',
    baselineName: 'AWS connector',
  })
}
