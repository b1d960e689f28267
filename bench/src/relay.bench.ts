// E1: what the emulator's relay costs once a session is authenticated. pgbench runs select-only (-S) and TPC-B at
// 20 clients straight to PostgreSQL over verified TLS, and through the emulator (verified TLS to the emulator,
// which relays the session to PostgreSQL over TLS by default, or over its unix socket with upstreamTls: false),
// interleaved so drift in the machine's load falls on all alike. Connections are opened before pgbench's clock
// starts, so only the relayed session is compared.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import { type Emulator, startEmulator, startPostgres } from '@rds-iam/emulator'
import { interleave, median } from './support/measure'
import { printMedians, verdict } from './support/report'

const run = promisify(execFile)
const clients = 20
const seconds = Number(process.env.RELAY_BENCH_SECONDS ?? 8)
const rounds = 3
// At least one branch per client, so TPC-B measures the relay rather than 20 clients queueing on one row lock.
const scale = clients
const user = 'bench_relay'

const postgres = await startPostgres({ settings: { max_connections: 100 } })
const emulators = {
  'through the emulator': await startEmulator({ upstream: postgres }),
  'through the emulator, upstreamTls false': await startEmulator({ upstream: postgres, upstreamTls: false }),
}
const dir = await mkdtemp(join(tmpdir(), 'rds-iam-relay-bench-'))

interface Target {
  conninfo: string
  password: string
}

async function throughEmulator(emulator: Emulator, name: string): Promise<Target> {
  const caFile = join(dir, `${name}-ca.pem`)
  await writeFile(caFile, emulator.ca)
  const token = await new Signer({
    hostname: emulator.endpoint,
    port: emulator.port,
    region: emulator.region,
    credentials: emulator.credentials,
    username: user,
  }).getAuthToken()
  return {
    conninfo: `host=${emulator.endpoint} hostaddr=${emulator.host} port=${emulator.port} user=${user} dbname=postgres sslmode=verify-full sslrootcert=${caFile}`,
    password: token,
  }
}

try {
  await emulators['through the emulator'].createIamUser(user)
  const postgresCa = join(dir, 'postgres-ca.pem')
  await writeFile(postgresCa, postgres.ca)
  const targets: Record<string, Target> = {
    'direct TLS': {
      conninfo: `host=127.0.0.1 port=${postgres.port} user=${postgres.user} dbname=postgres sslmode=verify-full sslrootcert=${postgresCa}`,
      password: postgres.password,
    },
    'through the emulator': await throughEmulator(emulators['through the emulator'], 'tls'),
    'through the emulator, upstreamTls false': await throughEmulator(
      emulators['through the emulator, upstreamTls false'],
      'socket',
    ),
  }
  const pgbench = async (target: Target, args: string[]): Promise<string> => {
    const env = { ...process.env, PGPASSWORD: target.password }
    const { stdout } = await run('pgbench', [...args, target.conninfo], { env, maxBuffer: 1 << 24 })
    return stdout
  }

  await pgbench(targets['direct TLS']!, ['-i', '-q', '-s', String(scale), '--unlogged-tables'])
  await emulators['through the emulator'].query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${user}`)

  const tps = (target: Target, mode: readonly string[]) => async (): Promise<number> => {
    const output = await pgbench(target, [
      ...mode,
      '-n',
      '-c',
      String(clients),
      '-j',
      '2',
      '-T',
      String(seconds),
    ])
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(output)
    if (!match) throw new Error(`pgbench printed no tps:\n${output}`)
    return Number(match[1])
  }

  for (const [name, mode] of [
    ['pgbench -S', ['-S']],
    ['pgbench TPC-B', ['-b', 'tpcb-like']],
  ] as const) {
    const variants = Object.fromEntries(
      Object.entries(targets).map(([label, target]) => [label, tps(target, mode)]),
    )
    const samples = await interleave(variants, rounds)
    const values = Object.fromEntries(Object.entries(samples).map(([label, runs]) => [label, median(runs)]))
    printMedians(`${name}, ${clients} clients, ${seconds} s runs`, values, 'tps', rounds)
    for (const label of Object.keys(emulators)) {
      verdict('E1', `${name} ${label} / direct`, values[label]! / values['direct TLS']!, { atLeast: 0.95 })
    }
  }
} finally {
  await Promise.all(Object.values(emulators).map((emulator) => emulator.close()))
  await postgres.stop()
  await rm(dir, { recursive: true, force: true })
}
