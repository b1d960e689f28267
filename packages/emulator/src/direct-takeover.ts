import type { Stats } from 'node:fs'
import { chmod, chown, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createSecureContext } from 'node:tls'
import type pg from 'pg'
import type { ServerCertificates } from './certificates.js'
import { type PostgresConnectionInfo, superuserClient } from './postgres-server.js'
import { connectPostgresTls } from './postgres-tls.js'

/** What a direct emulator sets up on its upstream PostgreSQL. */
export interface TakeoverOptions {
  /** Where the emulator's LDAP server answers PostgreSQL's binds. */
  ldapPort: number
  /** The emulator's certificate, which PostgreSQL presents instead of its own. */
  certificates: ServerCertificates
  /** Whether users that are not IAM users may connect without TLS. */
  forceSsl: boolean
}

// Bind DNs are `uid=<user>,ou=rds-iam`: a prefix or a suffix is what puts PostgreSQL's `ldap` in simple bind mode.
const LDAP_PREFIX = 'uid='
const LDAP_SUFFIX = ',ou=rds-iam'
const BEGIN = '# rds-iam emulator, direct mode: removed by close()'
const END = '# end of rds-iam emulator'
// Held for as long as a direct emulator runs: two emulators cannot both be the upstream's LDAP server.
const DIRECT_LOCK = 0x5d5_1a5
const RELOAD_TIMEOUT_MS = 10_000

/** True when a direct emulator has (or had, if it exited without `close()`) taken over the upstream. */
export async function isTakenOver(
  query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>,
): Promise<boolean> {
  const [row] = await query("SELECT strpos(pg_read_file(current_setting('hba_file')), $1) > 0 AS taken", [
    BEGIN,
  ])
  return row?.taken === true
}

/** The database user a bind DN of {@link hbaLines} names, or undefined for any other DN. */
export function userOfBindName(name: string): string | undefined {
  if (!name.startsWith(LDAP_PREFIX) || !name.endsWith(LDAP_SUFFIX)) return undefined
  return name.slice(LDAP_PREFIX.length, name.length - LDAP_SUFFIX.length)
}

// First match wins in pg_hba.conf, so these lines go before the upstream's own. IAM users over TLS are checked by
// the emulator's LDAP server. Without TLS, nothing matches in the pg_hba.conf of startPostgres(), so PostgreSQL
// answers "no pg_hba.conf entry ... no encryption", RDS's own words; an upstream whose own lines take connections
// without TLS gets explicit refusals instead ("pg_hba.conf rejects connection ... no encryption").
function hbaLines({ ldapPort, forceSsl }: TakeoverOptions, upstreamTakesPlaintext: boolean): string {
  const ldap = `ldapserver=127.0.0.1 ldapport=${ldapPort} ldapprefix="${LDAP_PREFIX}" ldapsuffix="${LDAP_SUFFIX}"`
  const lines = [BEGIN, `hostssl all +rds_iam all ldap ${ldap}`]
  if (!forceSsl || upstreamTakesPlaintext) lines.push('hostnossl all +rds_iam all reject')
  if (!forceSsl) lines.push('hostnossl all all all scram-sha-256')
  else if (upstreamTakesPlaintext) lines.push('hostnossl all all all reject')
  return `${[...lines, END].join('\n')}\n`
}

// A block left by an emulator whose process died before close().
function withoutOurBlock(hba: string): string {
  const begin = hba.indexOf(BEGIN)
  const end = hba.indexOf(END)
  return begin === -1 || end === -1 ? hba : hba.slice(0, begin) + hba.slice(end + END.length + 1)
}

// The line numbers of such a block, [0, 0] when there is none (pg_hba.conf's lines are numbered from 1).
function linesOfOurBlock(hba: string): [number, number] {
  const lineAt = (index: number): number => (index === -1 ? 0 : hba.slice(0, index).split('\n').length)
  return [lineAt(hba.indexOf(BEGIN)), lineAt(hba.indexOf(END))]
}

/**
 * Makes the upstream PostgreSQL check IAM users' tokens itself, over LDAP with the emulator, and present the
 * emulator's certificate; returns the function that puts everything back. Fails when another direct emulator
 * holds the upstream.
 */
export async function takeOverUpstream(
  info: PostgresConnectionInfo,
  options: TakeoverOptions,
): Promise<() => Promise<void>> {
  // A connection of its own, kept open: it holds the lock, and it must not wait for the emulator's pool.
  const admin = superuserClient(info)
  await admin.connect()
  admin.on('error', () => undefined)
  let restore: (() => Promise<void>) | undefined
  try {
    const { rows } = await admin.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      DIRECT_LOCK,
    ])
    if (!rows[0]?.locked) {
      throw new Error(
        'Another emulator with `direct: true` is using this PostgreSQL: give each direct emulator a PostgreSQL of its own (startPostgres()).',
      )
    }
    const files = await readFiles(admin)
    const owner = await stat(files.dataDirectory)
    const original = withoutOurBlock(files.hba)
    restore = async () => {
      try {
        await writeServerFile(owner, files.hbaFile, original)
        for (const setting of ['ssl', 'ssl_cert_file', 'ssl_key_file']) {
          await admin.query(`ALTER SYSTEM RESET ${setting}`)
        }
        if (info.ca) await reloadUntilPresented(admin, info, info.ca)
        else await admin.query('SELECT pg_reload_conf()')
      } catch (error) {
        // A server stopped first (by a signal's cleanup, say) has nothing left to put back.
        if (await isRunning(info)) throw error
      } finally {
        await admin.end().catch(() => undefined)
      }
    }
    const certFile = join(files.dataDirectory, 'rds-iam-emulator.crt')
    const keyFile = join(files.dataDirectory, 'rds-iam-emulator.key')
    await writeServerFile(owner, certFile, options.certificates.cert)
    await writeServerFile(owner, keyFile, options.certificates.key)
    await admin.query('ALTER SYSTEM SET ssl = on')
    await admin.query(`ALTER SYSTEM SET ssl_cert_file = ${admin.escapeLiteral(certFile)}`)
    await admin.query(`ALTER SYSTEM SET ssl_key_file = ${admin.escapeLiteral(keyFile)}`)
    const lines = hbaLines(options, await takesPlaintext(admin, linesOfOurBlock(files.hba)))
    await writeServerFile(owner, files.hbaFile, lines + original)
    await checkHba(admin)
    await reloadUntilPresented(admin, info, options.certificates.ca)
    return restore
  } catch (error) {
    // Whatever was changed before the failure is put back.
    if (restore) await restore().catch(() => undefined)
    else await admin.end()
    throw error
  }
}

type FileOwner = Pick<Stats, 'uid' | 'gid'>

async function isRunning(info: PostgresConnectionInfo): Promise<boolean> {
  const client = superuserClient(info)
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

interface ServerFiles {
  hbaFile: string
  hba: string
  dataDirectory: string
}

async function readFiles(admin: pg.Client): Promise<ServerFiles> {
  const { rows } = await admin.query<ServerFiles>(`
    SELECT current_setting('hba_file') AS "hbaFile", pg_read_file(current_setting('hba_file')) AS hba,
           current_setting('data_directory') AS "dataDirectory"`)
  return rows[0]!
}

// Written as the server's own user, 0600: PostgreSQL refuses a key file it does not own or that others can read.
// Running as root (as the throwaway PostgreSQL's owner would not), the emulator hands the file to that user.
async function writeServerFile(owner: FileOwner, path: string, contents: string): Promise<void> {
  try {
    await writeFile(path, contents, { mode: 0o600 })
    await chmod(path, 0o600)
    if (process.getuid?.() === 0) await chown(path, owner.uid, owner.gid)
  } catch (error) {
    throw new Error(
      `A direct emulator could not write ${path} (${(error as Error).message}): it rewrites its PostgreSQL's pg_hba.conf and puts its certificate in the data directory, so run it as the user who owns that PostgreSQL, or as root.`,
      { cause: error },
    )
  }
}

// Whether the upstream's own lines (not those of a block a dead emulator left) let anyone in without TLS.
async function takesPlaintext(admin: pg.Client, [first, last]: [number, number]): Promise<boolean> {
  const { rows } = await admin.query<{ plaintext: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_hba_file_rules
       WHERE type IN ('host', 'hostnossl') AND auth_method <> 'reject' AND line_number NOT BETWEEN $1 AND $2
     ) AS plaintext`,
    [first, last],
  )
  return rows[0]?.plaintext === true
}

async function checkHba(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ line_number: number; error: string }>(
    'SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL',
  )
  const [bad] = rows
  if (bad) throw new Error(`pg_hba.conf line ${bad.line_number} is not valid: ${bad.error}`)
}

// PostgreSQL reloads pg_hba.conf before its TLS context on a SIGHUP, so once it presents the certificate asked for,
// new connections also get the new pg_hba.conf.
async function reloadUntilPresented(
  admin: pg.Client,
  info: PostgresConnectionInfo,
  ca: string,
): Promise<void> {
  await admin.query('SELECT pg_reload_conf()')
  const secureContext = createSecureContext({ ca })
  const deadline = Date.now() + RELOAD_TIMEOUT_MS
  for (;;) {
    try {
      const socket = await connectPostgresTls(info.host, info.port, secureContext)
      socket.destroy()
      return
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `PostgreSQL did not load the emulator's settings within ${RELOAD_TIMEOUT_MS / 1000} s of pg_reload_conf(); its log says why: ${(error as Error).message}`,
        )
      }
      await sleep(20)
    }
  }
}
