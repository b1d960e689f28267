import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import pg from 'pg'
import type { PostgresConnectionInfo } from './postgres-server.js'
import { connectPostgresTls } from './postgres-tls.js'

/** The real PostgreSQL behind the emulator, reached over its unix socket. */
export interface Upstream {
  /** A new connection on the unix socket: for a password user's session, or a CancelRequest. */
  connect(): Socket
  /**
   * A new connection for an IAM user's session: TLS over TCP with the emulator's client certificate when asked
   * for and the upstream has one (so SQL sees an encrypted session from 127.0.0.1, as on RDS), else the socket.
   */
  connectIamSession(): Promise<Socket>
  /** True when `user` is a member (directly or through other roles) of `rds_iam`. */
  isIamUser(user: string): Promise<boolean>
  /** Runs SQL as the superuser. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]>
  /** Creates (or updates) a login role that must authenticate with IAM. */
  createIamUser(name: string): Promise<void>
  /** Creates (or updates) a login role with a password, authenticated by PostgreSQL itself. */
  createPasswordUser(name: string, password: string): Promise<void>
  close(): Promise<void>
}

// Membership through nested roles counts, as in pg_hba's `+rds_iam`; a superuser is not implicitly a member.
const IS_IAM_USER = `
  WITH RECURSIVE granted(roleid) AS (
    SELECT oid FROM pg_roles WHERE rolname = $1
    UNION
    SELECT m.roleid FROM pg_auth_members m JOIN granted g ON m.member = g.roleid
  )
  SELECT EXISTS (SELECT 1 FROM granted JOIN pg_roles r ON r.oid = granted.roleid WHERE r.rolname = 'rds_iam') AS iam`

// Test files share one PostgreSQL and may create the same role at the same moment; a transaction-scoped
// advisory lock makes the check-then-create atomic.
export const ROLE_LOCK = 0x5d5_1a4

// An IAM user gets PASSWORD NULL: like on RDS, only its token lets it in.
const ROLE_STATEMENTS = `
  SELECT
    format('%s ROLE %I LOGIN PASSWORD %L',
      CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN 'ALTER' ELSE 'CREATE' END, $1::text, $2::text
    ) AS role,
    format(CASE WHEN $3::boolean THEN 'GRANT rds_iam TO %I' ELSE 'REVOKE rds_iam FROM %I' END, $1::text) AS membership`

/**
 * Opens the superuser admin pool for `info`; raw connections are opened on demand. IAM users' sessions go over
 * TLS when `iamSessionsOverTls` is set and `info` has a client certificate.
 */
export function createUpstream(info: PostgresConnectionInfo, iamSessionsOverTls: boolean): Upstream {
  const socketPath = join(info.socketDir, `.s.PGSQL.${info.port}`)
  const pool = new pg.Pool({
    host: info.socketDir,
    port: info.port,
    user: info.user,
    password: info.password,
    database: info.database,
    max: 4,
    allowExitOnIdle: true,
  })
  // An idle admin connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined)

  const query = async <Row extends Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]> => (await pool.query<Row>(sql, params)).rows

  // Statements are built by the server's format(), which quotes the name and password correctly.
  const upsertRole = async (name: string, password: string | null, iam: boolean): Promise<void> => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROLE_LOCK])
      const { rows } = await client.query<{ role: string; membership: string }>(ROLE_STATEMENTS, [
        name,
        password,
        iam,
      ])
      await client.query(rows[0]!.role)
      await client.query(rows[0]!.membership)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

  const { clientCertificate } = info
  const sessionTls =
    iamSessionsOverTls && clientCertificate && createSecureContext({ ...clientCertificate, ca: info.ca })

  return {
    connect: () => connect(socketPath),
    connectIamSession: async () =>
      sessionTls ? connectPostgresTls(info.host, info.port, sessionTls) : connect(socketPath),
    async isIamUser(user) {
      const [row] = await query<{ iam: boolean }>(IS_IAM_USER, [user])
      return row?.iam === true
    },
    query,
    createIamUser: (name) => upsertRole(name, null, true),
    createPasswordUser: (name, password) => upsertRole(name, password, false),
    close: () => pool.end(),
  }
}
