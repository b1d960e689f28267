// E1: what the emulator's relay costs once a session is authenticated. pgbench runs select-only (-S) and TPC-B at
// 20 clients straight to PostgreSQL over verified TLS, and through the emulator (verified TLS to the emulator,
// which relays the session to PostgreSQL over TLS by default, or over its unix socket with upstreamTls: false),
// interleaved so drift in the machine's load falls on all alike. Connections are opened before pgbench's clock
// starts, so only the relayed session is compared.
//
// A second run of the same kind compares direct TLS with an emulator started with `direct: true`, in front of a
// PostgreSQL of its own (a direct emulator takes its PostgreSQL over): PostgreSQL checks the token with the
// emulator over LDAP, and the session then has no relay at all.
//
// Where socat is installed, a reference relay runs beside them: socat forwarding TCP bytes to PostgreSQL, with TLS
// end to end between pgbench and PostgreSQL, so it neither decrypts nor parses anything. It is the floor of what any
// relay process costs on this machine (a C program, no crypto), and "through the emulator / socat" says how far the
// emulator is from that floor.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import { type Emulator, type PostgresServer, startEmulator, startPostgres } from '@rds-iam/emulator'
import { interleave, median } from './support/measure'
import { printMedians, verdict } from './support/report'

const run = promisify(execFile)
const clients = 20
const seconds = Number(process.env.RELAY_BENCH_SECONDS ?? 8)
// At least one branch per client, so TPC-B measures the relay rather than 20 clients queueing on one row lock.
const scale = clients
const user = 'bench_relay'

const settings = { max_connections: 100 }
const postgres = await startPostgres({ settings })
const emulators = {
  'through the emulator': await startEmulator({ upstream: postgres }),
  'through the emulator, upstreamTls false': await startEmulator({ upstream: postgres, upstreamTls: false }),
}
const directPostgres = await startPostgres({ settings })
const directEmulator = await startEmulator({ upstream: directPostgres, direct: true })
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

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

// socat forks a process per connection, as a relay in C that scales over cores would; it is started only if present.
async function startSocat(targetPort: number): Promise<{ port: number; process: ChildProcess } | undefined> {
  try {
    await run('socat', ['-V'])
  } catch {
    console.log(
      'socat is not installed: the reference relay is left out (apt-get install socat to measure it)',
    )
    return undefined
  }
  const port = await freePort()
  const child = spawn(
    'socat',
    [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${targetPort}`],
    {
      stdio: 'ignore',
    },
  )
  for (let attempt = 0; attempt < 50; attempt++) {
    const listening = await run('pg_isready', ['-h', '127.0.0.1', '-p', String(port)]).then(
      () => true,
      () => false,
    )
    if (listening) return { port, process: child }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill()
  throw new Error('socat did not start listening')
}

const socat = await startSocat(postgres.port)

const pgbench = async (target: Target, args: string[]): Promise<string> => {
  const env = { ...process.env, PGPASSWORD: target.password }
  const { stdout } = await run('pgbench', [...args, target.conninfo], { env, maxBuffer: 1 << 24 })
  return stdout
}

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

const modes = [
  ['pgbench -S', ['-S']],
  ['pgbench TPC-B', ['-b', 'tpcb-like']],
] as const

// pgbench's tables, readable by the IAM user, with `ca` (a file) trusted for PostgreSQL's TCP listener.
async function prepare(server: PostgresServer, emulator: Emulator, ca: string): Promise<Target> {
  await emulator.createIamUser(user)
  const caFile = join(dir, `${server.port}-direct-ca.pem`)
  await writeFile(caFile, ca)
  const direct = {
    conninfo: `host=127.0.0.1 port=${server.port} user=${server.user} dbname=postgres sslmode=verify-full sslrootcert=${caFile}`,
    password: server.password,
  }
  await pgbench(direct, ['-i', '-q', '-s', String(scale), '--unlogged-tables'])
  await emulator.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${user}`)
  return direct
}

// Runs every target's pgbench interleaved, for each mode, and prints each compared label over the baseline.
async function compare(
  targets: Record<string, Target>,
  compared: readonly string[],
  rounds: number,
): Promise<void> {
  for (const [name, mode] of modes) {
    const variants = Object.fromEntries(
      Object.entries(targets).map(([label, target]) => [label, tps(target, mode)]),
    )
    const samples = await interleave(variants, rounds)
    const values = Object.fromEntries(Object.entries(samples).map(([label, runs]) => [label, median(runs)]))
    printMedians(`${name}, ${clients} clients, ${seconds} s runs`, values, 'tps', rounds)
    for (const label of compared) {
      verdict('E1', `${name} ${label} / direct`, values[label]! / values['direct TLS']!, { atLeast: 0.95 })
    }
    const floor = values['socat byte relay']
    if (floor !== undefined) {
      console.log(
        `E1 ${name} socat byte relay / direct: ${(floor / values['direct TLS']!).toFixed(3)} (reference)`,
      )
      for (const label of compared) {
        console.log(
          `E1 ${name} ${label} / socat byte relay: ${(values[label]! / floor).toFixed(3)} (reference)`,
        )
      }
    }
  }
}

try {
  const targets: Record<string, Target> = {
    'direct TLS': await prepare(postgres, emulators['through the emulator'], postgres.ca),
    'through the emulator': await throughEmulator(emulators['through the emulator'], 'tls'),
    'through the emulator, upstreamTls false': await throughEmulator(
      emulators['through the emulator, upstreamTls false'],
      'socket',
    ),
  }
  if (socat) {
    targets['socat byte relay'] = {
      ...targets['direct TLS']!,
      conninfo: targets['direct TLS']!.conninfo.replace(`port=${postgres.port}`, `port=${socat.port}`),
    }
  }
  await compare(targets, Object.keys(emulators), 3)

  // While a direct emulator runs, its PostgreSQL presents the emulator's certificate, for direct TLS as well.
  await compare(
    {
      'direct TLS': await prepare(directPostgres, directEmulator, directEmulator.ca),
      'direct emulator': await throughEmulator(directEmulator, 'direct'),
    },
    ['direct emulator'],
    // Two targets only, so more rounds in the same time: runs of the same connection differ by up to 8% here.
    5,
  )
} finally {
  socat?.process.kill()
  await Promise.all([...Object.values(emulators), directEmulator].map((emulator) => emulator.close()))
  await Promise.all([postgres.stop(), directPostgres.stop()])
  await rm(dir, { recursive: true, force: true })
}
