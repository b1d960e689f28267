// E1: what the emulator's relay costs once a session is authenticated. pgbench runs select-only (-S) and TPC-B at
// 20 clients, once straight to PostgreSQL over verified TLS and once through the emulator (verified TLS to the
// emulator, which then relays the session), interleaved so drift in the machine's load falls on both alike.
// Connections are opened before pgbench's clock starts, so only the relayed session is compared.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import { startEmulator, startPostgres } from '@rds-iam/emulator'
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
const emulator = await startEmulator({ upstream: postgres })
const dir = await mkdtemp(join(tmpdir(), 'rds-iam-relay-bench-'))
try {
  await emulator.createIamUser(user)
  const [postgresCa, emulatorCa] = [join(dir, 'postgres-ca.pem'), join(dir, 'emulator-ca.pem')]
  await writeFile(postgresCa, postgres.ca)
  await writeFile(emulatorCa, emulator.ca)

  const direct = {
    conninfo: `host=127.0.0.1 port=${postgres.port} user=${postgres.user} dbname=postgres sslmode=verify-full sslrootcert=${postgresCa}`,
    password: postgres.password,
  }
  const token = await new Signer({
    hostname: emulator.endpoint,
    port: emulator.port,
    region: emulator.region,
    credentials: emulator.credentials,
    username: user,
  }).getAuthToken()
  const relayed = {
    conninfo: `host=${emulator.endpoint} hostaddr=${emulator.host} port=${emulator.port} user=${user} dbname=postgres sslmode=verify-full sslrootcert=${emulatorCa}`,
    password: token,
  }
  const pgbench = async (target: typeof direct, args: string[]): Promise<string> => {
    const env = { ...process.env, PGPASSWORD: target.password }
    const { stdout } = await run('pgbench', [...args, target.conninfo], { env, maxBuffer: 1 << 24 })
    return stdout
  }

  await pgbench(direct, ['-i', '-q', '-s', String(scale), '--unlogged-tables'])
  await emulator.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${user}`)

  const tps = (target: typeof direct, mode: string[]) => async (): Promise<number> => {
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
    const samples = await interleave(
      { 'direct TLS': tps(direct, [...mode]), 'through the emulator': tps(relayed, [...mode]) },
      rounds,
    )
    const values = {
      'direct TLS': median(samples['direct TLS']),
      'through the emulator': median(samples['through the emulator']),
    }
    printMedians(`${name}, ${clients} clients, ${seconds} s runs`, values, 'tps', rounds)
    verdict(
      'E1',
      `${name} through the emulator / direct`,
      values['through the emulator'] / values['direct TLS'],
      {
        atLeast: 0.95,
      },
    )
  }
} finally {
  await emulator.close()
  await postgres.stop()
  await rm(dir, { recursive: true, force: true })
}
