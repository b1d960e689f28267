// The database side of the benchmarks in a process of its own: a throwaway PostgreSQL and the emulator in front
// of it. On a two-core machine the server's half of every TLS handshake would otherwise share an event loop with
// the client being measured. Prints where to connect as one JSON line; stops when its stdin closes.
import { startEmulator, startPostgres } from '@rds-iam/emulator'
import type { BenchDatabase, BenchTarget } from './database'

const user = 'bench_user'
// Room for the 200 concurrent connects of the cold-pool benchmark plus the emulator's own.
const postgres = await startPostgres({ settings: { max_connections: 300 } })
const target = (process.env.BENCH_TARGET ?? 'rds') as BenchTarget
const emulator = await startEmulator({ upstream: postgres, target })
await emulator.createIamUser(user)

const database: BenchDatabase = {
  target,
  host: emulator.host,
  port: emulator.port,
  endpoint: emulator.endpoint,
  region: emulator.region,
  ca: emulator.ca,
  credentials: {
    accessKeyId: emulator.credentials.accessKeyId,
    secretAccessKey: emulator.credentials.secretAccessKey,
  },
  user,
  database: 'postgres',
}
process.stdout.write(`${JSON.stringify(database)}\n`)

process.stdin.resume()
process.stdin.on('end', async () => {
  await emulator.close()
  await postgres.stop()
  process.exit(0)
})
