// B2: 200 concurrent connects on a cold pool, through @rds-iam/pg against a plain pg.Pool whose hand-written
// `password` function signs a token per connection with @aws-sdk/rds-signer. Both verify against the production
// CA list; the hand-written pool builds one SecureContext for it inside the timed part, as rds-iam loads its CA
// list on the first connect. Each run is a fresh process, so every pool, token cache and TLS context starts cold.
import { createPool } from '@rds-iam/pg'
import pg from 'pg'
import {
  adapterOptions,
  type BenchDatabase,
  plainConnection,
  prebuiltTls,
  signerFor,
} from './support/database'
import { compareInFreshProcesses, median, timeMs } from './support/measure'
import { format, verdict } from './support/report'

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

async function connectAll(
  variant: Variant,
  database: BenchDatabase,
): Promise<{ ms: number; tokens: number }> {
  let tokens = 0
  let pool: pg.Pool | undefined
  const ms = await timeMs(async () => {
    pool = createColdPool(variant, database, () => tokens++)
    const clients = await Promise.all(Array.from({ length: connections }, () => pool!.connect()))
    for (const client of clients) client.release()
  })
  await pool?.end()
  return { ms, tokens }
}

const runs = await compareInFreshProcesses(import.meta.url, variants, 3, connectAll)
if (runs) {
  const ms = (name: Variant) => median(runs[name].map((run) => run.ms))
  const tokens = (name: Variant) => median(runs[name].map((run) => run.tokens))
  console.log(
    `${connections} concurrent connects on a cold pool (median of ${runs['rds-iam'].length} processes each)`,
  )
  console.log(
    `  hand-written, a token per connection  ${format(ms('hand-written'))} ms, ${tokens('hand-written')} tokens`,
  )
  console.log(
    `  @rds-iam/pg createPool                ${format(ms('rds-iam'))} ms, ${tokens('rds-iam')} tokens`,
  )
  verdict('B2', 'cold pool time / hand-written', ms('rds-iam') / ms('hand-written'), { atMost: 1 })
  verdict('B2', 'cold pool token generations', tokens('rds-iam'), { atMost: 1 })
}
