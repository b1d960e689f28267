import { Command, Option } from 'commander'
import packageJson from '../package.json' with { type: 'json' }
// Type-only imports: each command's code is still loaded only when it runs.
import type { CaFlags } from './commands/ca'
import type { DoctorFlags } from './commands/doctor'
import type { EmulatorFlags } from './commands/emulator'
import type { EnvFlags } from './commands/env'
import type { ExecFlags } from './commands/exec'
import type { TokenFlags } from './commands/token'
import type { UrlFlags } from './commands/url'
import { addConnectionOptions, parsePortNumber } from './connection-flags'
import { SHELLS } from './shell-syntax'

/** What an action leaves for the process: its exit code. */
export type ExitCodeSink = (code: number) => void

const CA_FILE_HELP =
  'where to write the default CA bundle for sslrootcert (default: ~/.cache/rds-iam/rds-ca-bundle.pem)'
const EMULATOR_OPTIONS =
  '--host 127.0.0.1 --port 6543 --token-host demo.cluster-abc123def456.us-east-1.rds.amazonaws.com'

/**
 * The `rds-iam` command line. Each action loads its module on use, so `--help` and `--version` load neither
 * the AWS SDK nor pg.
 */
export function createProgram(setExitCode: ExitCodeSink): Command {
  const program = new Command('rds-iam')
    .description(
      'Amazon RDS / Aurora PostgreSQL IAM authentication for psql, pg_dump, migrations and any tool.',
    )
    .version(packageJson.version, '-v, --version')
    // Errors, --help and --version end in a CommanderError that the caller turns into an exit code.
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Connection options default from PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, AWS_REGION and
AWS_PROFILE. Exit codes: 0 ok, 1 failure, 2 invalid usage; exec exits with its command's code.

Example:
  $ rds-iam exec --host mydb.cluster-abc123.eu-west-1.rds.amazonaws.com --user app -- psql -c 'select 1'`,
    )

  addConnectionOptions(program.command('token'))
    .description('print a token, for PGPASSWORD or any password field')
    .option('--json', 'print JSON: token, expiresAt, region, tokenHost, tokenPort, user')
    .addHelpText(
      'after',
      example(
        'PGPASSWORD="$(rds-iam token --host mydb.cluster-abc123.eu-west-1.rds.amazonaws.com --user app)" psql ...',
      ),
    )
    .action(async (flags: TokenFlags) => {
      setExitCode(await (await import('./commands/token')).runToken(flags))
    })

  addConnectionOptions(program.command('url'))
    .description('print a postgresql:// URL with the token, sslmode=verify-full and a CA file')
    .option('--ca-file <file>', CA_FILE_HELP)
    .addHelpText(
      'after',
      example(
        'psql "$(rds-iam url --host mydb.cluster-abc123.eu-west-1.rds.amazonaws.com --user app --database app)"',
      ),
    )
    .action(async (flags: UrlFlags) => {
      setExitCode(await (await import('./commands/url')).runUrl(flags))
    })

  addConnectionOptions(program.command('env'))
    .description(
      'print export lines for PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT and DATABASE_URL',
    )
    .option('--ca-file <file>', CA_FILE_HELP)
    .addOption(new Option('--shell <shell>', 'syntax of the lines').choices(SHELLS).default('sh'))
    .addHelpText(
      'after',
      example('eval "$(rds-iam env --host mydb.cluster-abc123.eu-west-1.rds.amazonaws.com --user app)"'),
    )
    .action(async (flags: EnvFlags) => {
      setExitCode(await (await import('./commands/env')).runEnv(flags))
    })

  addConnectionOptions(program.command('exec'))
    .description('run a command with those variables set and a token that has at least 14 minutes left')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--ca-file <file>', CA_FILE_HELP)
    .passThroughOptions()
    .addHelpText(
      'after',
      example(
        'rds-iam exec --host mydb.cluster-abc123.eu-west-1.rds.amazonaws.com --user app -- npx prisma migrate deploy',
      ),
    )
    .action(async (command: string[], flags: ExecFlags) => {
      setExitCode(await (await import('./commands/exec')).runExec(command, flags))
    })

  program
    .command('ca')
    .description(
      "print the PEM bundle trusted by default (Amazon RDS CAs and Node's roots), or write it to a file",
    )
    .option('--out <file>', 'write the bundle there and print its path')
    .addHelpText('after', example('rds-iam ca --out rds-ca.pem'))
    .action(async (flags: CaFlags) => {
      setExitCode(await (await import('./commands/ca')).runCa(flags))
    })

  addConnectionOptions(program.command('doctor'))
    .description('check step by step why signing in fails, and say how to fix it')
    .option('--json', 'print one JSON document instead of lines')
    .addHelpText('after', example(`rds-iam doctor ${EMULATOR_OPTIONS} --user app`))
    .action(async (flags: DoctorFlags) => {
      setExitCode(await (await import('./commands/doctor')).runDoctor(flags))
    })

  program
    .command('emulator')
    .description('run a local RDS IAM endpoint in front of a throwaway PostgreSQL (needs @rds-iam/emulator)')
    .option('--port <port>', 'port on 127.0.0.1 (default: a free one)', (value) => parsePortNumber(value, 0))
    .option(
      '--endpoint <host>',
      'RDS host name to serve as (default: demo.cluster-abc123def456.us-east-1.rds.amazonaws.com)',
    )
    .addOption(
      new Option(
        '--target <kind>',
        "serve as an RDS endpoint, an Aurora DSQL cluster or an RDS Proxy endpoint; a proxy's CA file is a stand-in for Amazon Root CA 1, which a Node process trusts through NODE_EXTRA_CA_CERTS=<file> (as its default store holds the real one) or ssl.ca (default: rds; rds-proxy and dsql not with --direct)",
      ).choices(['rds', 'dsql', 'rds-proxy']),
    )
    .option('--user <name>', 'IAM database user to create', 'app')
    .option(
      '--direct',
      'let PostgreSQL check tokens itself with the emulator (over LDAP), with no relay in between, for load tests; a refused token reads "LDAP authentication failed", and the port is PostgreSQL\'s own',
    )
    .option(
      '--outlive-parent',
      'keep running after the process that started it exits (by default it stops with it, so that `timeout 60 npx rds-iam emulator` leaves nothing behind)',
    )
    .addHelpText('after', example('rds-iam emulator --port 6543'))
    .action(async (flags: EmulatorFlags) => {
      setExitCode(await (await import('./commands/emulator')).runEmulator(flags))
    })

  return program
}

function example(line: string): string {
  return `\nExample:\n  $ ${line}`
}
