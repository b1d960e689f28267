// B2: 200 concurrent connects on a cold pool, through @rds-iam/pg against a plain pg.Pool whose hand-written
// `password` function signs a token per connection with @aws-sdk/rds-signer. Both verify against the production
// CA list; the hand-written pool builds one SecureContext for it inside the timed part, as rds-iam loads its CA
// list on the first connect. Each run is a fresh process, so every pool, token cache and TLS context starts cold.
import { createPool } from '@rds-iam/pg'
import pg from 'pg'
import { reportColdPool } from './support/cold-pool-report'
import {
  adapterOptions,
  type BenchDatabase,
  plainConnection,
  prebuiltTls,
  signerFor,
} from './support/database'
import { type Cost, compareInFreshProcesses, measureCost } from './support/measure'

const connections = 200
const variants = ['hand-written', 'rds-iam'] as const
type Variant = (typeof variants)[number]

function createColdPool(variant: Variant, database: BenchDatabase, countToken: () => void): pg.Pool {
  if (variant === 'rds-iam') {
    const options = adapterOptions(database)
    return createPool({
      ...options,
      max: connections,
      iam: { ...options.iam, onEvent: (event) => event.type === 'token-generated' && countToken() },
    })
  }
  const signer = signerFor(database)
  return new pg.Pool({
    ...plainConnection(database),
    ssl: prebuiltTls(database),
    max: connections,
    password: () => {
      countToken()
      return signer.getAuthToken()
    },
  })
}

async function connectAll(variant: Variant, database: BenchDatabase): Promise<Cost & { tokens: number }> {
  let tokens = 0
  let pool: pg.Pool | undefined
  const cost = await measureCost(async () => {
    pool = createColdPool(variant, database, () => tokens++)
    const clients = await Promise.all(Array.from({ length: connections }, () => pool!.connect()))
    for (const client of clients) client.release()
  })
  await pool?.end()
  return { ...cost, tokens }
}

const runs = await compareInFreshProcesses(import.meta.url, variants, 9, connectAll)
if (runs) {
  reportColdPool({
    id: 'B2',
    title: `${connections} concurrent connects on a cold pool`,
    runs,
    labels: { 'hand-written': 'hand-written, a token per connection', 'rds-iam': '@rds-iam/pg createPool' },
    subject: 'rds-iam',
    baseline: 'hand-written',
    baselineName: 'hand-written',
  })
}
