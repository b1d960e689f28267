import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT_OK, UsageError } from '../exit-codes'

export interface EmulatorFlags {
  port?: number
  endpoint?: string
  /** What to serve as: an RDS endpoint (default), an Aurora DSQL cluster or an RDS Proxy endpoint. */
  target?: 'rds' | 'dsql' | 'rds-proxy'
  user: string
  direct?: boolean
  /** Keep running after the process that started this one exits; by default it stops with it. */
  outliveParent?: boolean
}

type EmulatorPackage = typeof import('@rds-iam/emulator')
type Emulator = Awaited<ReturnType<EmulatorPackage['startEmulator']>>

/**
 * Starts a throwaway PostgreSQL and the emulator in front of it, prints how to point rds-iam at it, and cleans
 * up on Ctrl-C, SIGTERM, or when the process that started it exits.
 */
export async function runEmulator(flags: EmulatorFlags): Promise<number> {
  const parent = process.ppid
  if (flags.direct && flags.port !== undefined) {
    throw new UsageError('--port cannot be used with --direct: PostgreSQL listens on a port of its own')
  }
  if (flags.direct && flags.target !== undefined && flags.target !== 'rds') {
    throw new UsageError(
      `--target ${flags.target} cannot be used with --direct: only an RDS endpoint has a direct mode`,
    )
  }
  const { startEmulator, startPostgres, whenParentExits } = await loadEmulatorPackage()
  const postgres = await startPostgres()
  const caDir = await mkdtemp(join(tmpdir(), 'rds-iam-emulator-'))
  let emulator: Emulator | undefined
  const stop = async (): Promise<void> => {
    await emulator?.close()
    await postgres.stop()
    await rm(caDir, { recursive: true, force: true })
  }
  try {
    emulator = await startEmulator({
      upstream: postgres,
      direct: flags.direct === true,
      target: flags.target ?? 'rds',
      ...(flags.port === undefined ? {} : { port: flags.port }),
      ...(flags.endpoint === undefined ? {} : { endpoint: flags.endpoint }),
      logger: { warn: (line) => process.stderr.write(`${line}\n`) },
    })
    await emulator.createIamUser(flags.user)
    const caFile = join(caDir, 'ca.pem')
    await writeFile(caFile, emulator.ca)
    process.stdout.write(describe(emulator, flags.user, caFile))
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
      if (!flags.outliveParent) whenParentExits(resolve, parent)
    })
  } finally {
    await stop()
  }
  return EXIT_OK
}

async function loadEmulatorPackage(): Promise<EmulatorPackage> {
  try {
    return await import('@rds-iam/emulator')
  } catch (error) {
    throw new Error(
      'rds-iam emulator needs the @rds-iam/emulator package next to @rds-iam/cli: npm install --save-dev @rds-iam/emulator',
      { cause: error },
    )
  }
}

const TITLES: Record<Emulator['target'], string> = {
  rds: 'RDS IAM',
  dsql: 'Aurora DSQL',
  'rds-proxy': 'RDS Proxy',
}

// A proxy's chain ends at a stand-in for Amazon Root CA 1, which a machine's Node already trusts in its real form:
// the stand-in joins Node's default store the same way, so an app is tested with no CA configured.
function proxyTrustNote(emulator: Emulator, caFile: string): string {
  if (emulator.target !== 'rds-proxy') return ''
  return ` (stand-in for Amazon Root CA 1)

  A Node process trusts it as its default store trusts the real root: NODE_EXTRA_CA_CERTS=${caFile}
  set before it starts (or pass the file's contents as ssl.ca); rds-iam exec hands psql --ssl-root-cert.`
}

// The secret key is a throwaway that only this emulator accepts, so printing it is the point.
function describe(emulator: Emulator, user: string, caFile: string): string {
  const { endpoint, host, port, region, credentials } = emulator
  const options = `--host ${host} --port ${port} --token-host ${endpoint} --user ${user} --ssl-root-cert ${caFile}`
  return `${TITLES[emulator.target]} emulator ready (Ctrl-C to stop)

  endpoint   ${endpoint}:${port} (listening on ${host}:${port})
  region     ${region}
  IAM user   ${user}
  CA file    ${caFile}${proxyTrustNote(emulator, caFile)}

In another shell:
  export AWS_ACCESS_KEY_ID=${credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey} AWS_REGION=${region}
  rds-iam doctor ${options} --database postgres
  rds-iam exec ${options} --database postgres -- psql -c 'select current_user'
`
}
