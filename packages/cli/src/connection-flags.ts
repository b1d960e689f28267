import type { SslMode, TargetKind } from '@rds-iam/core'
import { type Command, InvalidArgumentError, Option } from 'commander'

/** Where and as whom to connect, as the options of every command that signs in give it. */
export interface ConnectionFlags {
  url?: string
  host?: string
  port?: number
  user?: string
  database?: string
  region?: string
  profile?: string
  tokenHost?: string
  tokenPort?: number
  sslMode?: SslMode
  sslRootCert?: string
  target?: TargetKind
  admin?: boolean
  tokenLifetime?: number
}

const SSL_MODES: SslMode[] = ['verify-full', 'verify-ca', 'require']
const TARGETS: TargetKind[] = ['rds', 'dsql']

/**
 * Adds the connection options. None of them defaults from the environment here: core layers PGHOST, PGPORT,
 * PGUSER, PGDATABASE, PGSSLMODE and PGSSLROOTCERT under the URL and the options, as libpq does, and the AWS SDK
 * reads AWS_REGION and AWS_PROFILE.
 */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('--url <url>', 'a postgres:// URL; the options below override its parts')
    .option('--host <host>', 'database host: the RDS endpoint, or a tunnel or alias (env PGHOST)')
    .option('--port <port>', 'port to dial (env PGPORT, default 5432)', parsePort)
    .option('--user <user>', 'database user granted rds_iam (env PGUSER)')
    .option('--database <name>', 'database name (env PGDATABASE, default: the user name)')
    .option('--region <region>', 'AWS region (default: from the host name, AWS_REGION, the profile)')
    .option('--profile <name>', 'AWS profile (env AWS_PROFILE, default: the default credential chain)')
    .option('--token-host <host>', 'RDS endpoint to sign for when --host is a tunnel or alias')
    .option('--token-port <port>', 'RDS endpoint port to sign for (default: --port)', parsePort)
    .addOption(
      new Option('--ssl-mode <mode>', 'TLS verification (env PGSSLMODE, default verify-full)').choices(
        SSL_MODES,
      ),
    )
    .option(
      '--ssl-root-cert <file>',
      'PEM file of the CAs to trust instead of the default bundle (env PGSSLROOTCERT)',
    )
    .addOption(
      new Option(
        '--target <kind>',
        'kind of endpoint when the host name does not tell (a tunnel or alias of an Aurora DSQL cluster)',
      ).choices(TARGETS),
    )
    .option('--admin', 'Aurora DSQL: sign as the admin role (DbConnectAdmin; default when --user is admin)')
    .option('--no-admin', 'Aurora DSQL: sign with DbConnect even for a role named admin')
    .option(
      '--token-lifetime <seconds>',
      'Aurora DSQL: how long the token is valid, 1 to 604800 (default 900)',
      parseLifetime,
    )
}

function parseLifetime(value: string): number {
  const seconds = Number(value)
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > 604_800) {
    throw new InvalidArgumentError('expected a whole number of seconds from 1 to 604800.')
  }
  return seconds
}

function parsePort(value: string): number {
  return parsePortNumber(value, 1)
}

/** A port from the command line; `lowest` is 0 where 0 means "pick a free one". */
export function parsePortNumber(value: string, lowest: 0 | 1): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port < lowest || port > 65_535) {
    throw new InvalidArgumentError(`expected a port number from ${lowest} to 65535.`)
  }
  return port
}
