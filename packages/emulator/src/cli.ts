import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { whenParentExits } from './parent-exit.js'
import { startPostgres } from './postgres-server.js'
import { type Emulator, startEmulator } from './start-emulator.js'
import type { EmulatorTargetKind } from './targets/emulator-target.js'

const USAGE = `Usage: rds-iam-emulator [options]

Starts a throwaway PostgreSQL and a local Amazon RDS IAM endpoint in front of it, which accepts real IAM
tokens (signed with the printed test keys) the way RDS does. Stops and cleans up on Ctrl-C or SIGTERM, and
when the process that started it exits (so that timeout 60 npx rds-iam-emulator leaves nothing behind).

Options:
  --port <number>    port on 127.0.0.1 (default: a free one)
  --endpoint <host>  RDS host name to serve as, in the certificate and the tokens
                     (default: demo.cluster-abc123def456.us-east-1.rds.amazonaws.com)
  --target <kind>    rds (default), dsql or rds-proxy. dsql: serve as an Aurora DSQL cluster, whose tokens are
                     signed for the endpoint without a port (default endpoint
                     abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws). rds-proxy: serve as an RDS Proxy endpoint
                     (default demo.proxy-abc123def456.us-east-1.rds.amazonaws.com) with its own refusals and a
                     certificate chain under a stand-in for Amazon Root CA 1, which the printed CA file holds: a
                     Node process trusts it through NODE_EXTRA_CA_CERTS=<file>, as its default store holds the
                     real one, or through ssl.ca; psql through sslrootcert. Not with --direct
  --user <name>      IAM database user to create (default: app)
  --direct           let PostgreSQL check the tokens itself, with the emulator over LDAP, so that sessions
                     reach it with nothing in between (for load tests); a refused token then reads
                     "LDAP authentication failed", and the port is PostgreSQL's own (no --port)
  --outlive-parent   keep running after the process that started it exits (a detached emulator, stopped
                     with SIGTERM)
  -h, --help         show this help

Exit codes: 0 stopped (by a signal or its parent's exit) or --help, 1 could not start, 2 invalid arguments.
`

const EXIT_FAILED = 1
const EXIT_USAGE = 2

interface CliOptions {
  port?: number
  endpoint?: string
  target: EmulatorTargetKind
  user: string
  direct: boolean
  outliveParent: boolean
}

function parseOptions(argv: string[]): CliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      endpoint: { type: 'string' },
      target: { type: 'string', default: 'rds' },
      user: { type: 'string', default: 'app' },
      direct: { type: 'boolean', default: false },
      'outlive-parent': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return 'help'
  const { direct, user, endpoint, target } = values
  if (!isTargetKind(target)) throw new TypeError(`invalid --target: ${target} (rds, dsql or rds-proxy)`)
  if (direct && target !== 'rds')
    throw new TypeError(
      `--target ${target} cannot be used with --direct: only an RDS endpoint has a direct mode`,
    )
  const options = {
    user,
    direct,
    target,
    outliveParent: values['outlive-parent'],
    ...(endpoint === undefined ? {} : { endpoint }),
  }
  if (values.port === undefined) return options
  if (direct)
    throw new TypeError('--port cannot be used with --direct: PostgreSQL listens on a port of its own')
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new TypeError(`invalid --port: ${values.port}`)
  return { ...options, port }
}

const TARGET_KINDS: readonly string[] = ['rds', 'dsql', 'rds-proxy'] satisfies EmulatorTargetKind[]

function isTargetKind(value: string | undefined): value is EmulatorTargetKind {
  return value !== undefined && TARGET_KINDS.includes(value)
}

const TITLES: Record<EmulatorTargetKind, string> = {
  rds: 'RDS IAM',
  dsql: 'Aurora DSQL',
  'rds-proxy': 'RDS Proxy',
}

// The AWS CLI command that signs a token for the emulator, as for the service it serves as.
function tokenCommand(emulator: Emulator, user: string): string {
  const { endpoint, port, region } = emulator
  if (emulator.target !== 'dsql') {
    return `aws rds generate-db-auth-token --hostname ${endpoint} --port ${port} --username ${user} --region ${region}`
  }
  const kind = user === 'admin' ? 'generate-db-connect-admin-auth-token' : 'generate-db-connect-auth-token'
  return `aws dsql ${kind} --hostname ${endpoint} --region ${region}`
}

// A proxy's chain ends at a stand-in for Amazon Root CA 1, which a machine's Node already trusts in its real form:
// the stand-in joins Node's default store the same way, so an app is tested with no CA configured.
function proxyTrustNote(emulator: Emulator, caFile: string): string {
  if (emulator.target !== 'rds-proxy') return ''
  return `  (stand-in for Amazon Root CA 1)

  A Node process trusts it as its default store trusts the real root: NODE_EXTRA_CA_CERTS=${caFile}
  set before it starts (or pass the file's contents as ssl.ca); psql trusts it through sslrootcert.`
}

function describe(emulator: Emulator, user: string, caFile: string): string {
  const { endpoint, port, region, credentials } = emulator
  const conninfo = `host=${endpoint} hostaddr=${emulator.host} port=${port} user=${user} dbname=postgres sslmode=verify-full sslrootcert=${caFile}`
  return `${TITLES[emulator.target]} emulator ready (Ctrl-C to stop)

  endpoint        ${endpoint}:${port}  (listening on ${emulator.host}:${port})
  region          ${region}
  IAM user        ${user}
  access key id   ${credentials.accessKeyId}
  secret key      ${credentials.secretAccessKey}  (a throwaway key that only this emulator accepts)
  CA certificate  ${caFile}${proxyTrustNote(emulator, caFile)}

Environment:
  export AWS_ACCESS_KEY_ID=${credentials.accessKeyId}
  export AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey}
  export AWS_REGION=${region}
  export PGHOST=${endpoint} PGHOSTADDR=${emulator.host} PGPORT=${port} PGUSER=${user} PGDATABASE=postgres
  export PGSSLMODE=verify-full PGSSLROOTCERT=${caFile}

psql (with the environment above):
  PGPASSWORD="$(${tokenCommand(emulator, user)})" psql "${conninfo}"
`
}

async function main(argv: string[]): Promise<number | undefined> {
  // Taken first: a parent that exits while PostgreSQL starts is noticed once the emulator runs.
  const parent = process.ppid
  let options: CliOptions | 'help'
  try {
    options = parseOptions(argv)
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
    return EXIT_USAGE
  }
  if (options === 'help') {
    process.stdout.write(USAGE)
    return 0
  }

  const postgres = await startPostgres()
  const caDir = await mkdtemp(join(tmpdir(), 'rds-iam-emulator-'))
  const stop = async (): Promise<void> => {
    await emulator?.close()
    await postgres.stop()
    await rm(caDir, { recursive: true, force: true })
  }
  let emulator: Emulator | undefined
  try {
    emulator = await startEmulator({
      upstream: postgres,
      direct: options.direct,
      target: options.target,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      logger: {
        info: (line) => process.stderr.write(`${line}\n`),
        warn: (line) => process.stderr.write(`${line}\n`),
      },
    })
    await emulator.createIamUser(options.user)
    const caFile = join(caDir, 'ca.pem')
    await writeFile(caFile, emulator.ca)
    process.stdout.write(describe(emulator, options.user, caFile))
  } catch (error) {
    await stop()
    throw error
  }
  let stopping = false
  // A signal may come while the parent's exit is handled, or the other way round: one stop is enough.
  const shutdown = (): void => {
    if (stopping) return
    stopping = true
    stop().then(
      () => process.exit(0),
      () => process.exit(EXIT_FAILED),
    )
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, shutdown)
  if (!options.outliveParent) whenParentExits(shutdown, parent)
  return undefined
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`rds-iam-emulator: ${(error as Error).message}\n`)
    process.exitCode = EXIT_FAILED
  },
)
