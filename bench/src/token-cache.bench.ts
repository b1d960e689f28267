// What the token cache saves: a cached getToken() against signing a token per connection (what a password hook
// without a cache does), measured side by side in one process, plus the cold single-flight count.
import { Signer } from '@aws-sdk/rds-signer'
import { createIamAuth, type IamEvent } from '@rds-iam/core'

const endpoint = { hostname: 'bench.cluster-abc123def456.us-east-1.rds.amazonaws.com', port: 5432 }
const credentials = {
  accessKeyId: 'AKIABENCHMARK0000000',
  secretAccessKey: 'bench-secret-key-not-real-0000000000000',
}
const rounds = 20_000

async function timePerCall(label: string, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 1_000; i++) await call()
  const started = process.hrtime.bigint()
  for (let i = 0; i < rounds; i++) await call()
  const microseconds = Number(process.hrtime.bigint() - started) / 1_000 / rounds
  console.log(`${label.padEnd(44)} ${microseconds.toFixed(2).padStart(9)} µs/call`)
  return microseconds
}

const generated: IamEvent[] = []
const auth = createIamAuth({
  host: endpoint.hostname,
  user: 'bench_user',
  region: 'us-east-1',
  credentials,
  onEvent: (event) => event.type === 'token-generated' && generated.push(event),
})

const cold = await Promise.all(Array.from({ length: 100 }, () => auth.getToken()))
console.log(
  `100 concurrent cold getToken(): ${generated.length} token generated, ${new Set(cold).size} distinct token`,
)

const signer = new Signer({ ...endpoint, username: 'bench_user', region: 'us-east-1', credentials })
const uncached = await timePerCall('sign per connection (Signer.getAuthToken)', () => signer.getAuthToken())
const cached = await timePerCall('cached IamAuth.getToken()', () => auth.getToken())
console.log(`ratio: a cached token is ${(uncached / cached).toFixed(1)}x cheaper than signing one`)
