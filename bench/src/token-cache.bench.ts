// B3: a cached getToken() against signing one token with Signer.getAuthToken() (what a password hook without a
// cache does per connection), measured in alternating batches in one process, plus the cold single flight.
import { Signer } from '@aws-sdk/rds-signer'
import { createIamAuth } from '@rds-iam/core'
import { cpuMs, interleave, medians } from './support/measure'
import { printMedians, verdict } from './support/report'

const endpoint = { hostname: 'bench.cluster-abc123def456.us-east-1.rds.amazonaws.com', port: 5432 }
const credentials = {
  accessKeyId: 'AKIABENCHMARK0000000',
  secretAccessKey: 'bench-secret-key-not-real-0000000000000',
}
const batches = 15

// CPU microseconds per call over a batch of sequential calls (CPU, not clock: the machine is shared).
async function microsecondsPerCall(calls: number, call: () => Promise<unknown>): Promise<number> {
  const ms = await cpuMs(async () => {
    for (let i = 0; i < calls; i++) await call()
  })
  return (ms * 1_000) / calls
}

let generated = 0
const auth = createIamAuth({
  host: endpoint.hostname,
  user: 'bench_user',
  region: 'us-east-1',
  credentials,
  onEvent: (event) => {
    if (event.type === 'token-generated') generated++
  },
})
const cold = await Promise.all(Array.from({ length: 100 }, () => auth.getToken()))
console.log(
  `100 concurrent cold getToken(): ${generated} token generated, ${new Set(cold).size} distinct token`,
)

const signer = new Signer({ ...endpoint, username: 'bench_user', region: 'us-east-1', credentials })
const samples = await interleave(
  {
    'Signer.getAuthToken()': () => microsecondsPerCall(500, () => signer.getAuthToken()),
    'cached IamAuth.getToken()': () => microsecondsPerCall(20_000, () => auth.getToken()),
  },
  batches,
  2,
)
const us = medians(samples)
printMedians('CPU per call', us, 'µs', batches)
verdict('B3', 'cached getToken()', us['cached IamAuth.getToken()'], { atMost: 1 }, ' µs')
console.log(
  `ratio: signing a token costs ${(us['Signer.getAuthToken()'] / us['cached IamAuth.getToken()']).toFixed(0)}x a cached getToken()`,
)
