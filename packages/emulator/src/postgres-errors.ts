import type { ErrorFields, SourceLocation } from './backend-messages.js'
import type { PostgresName } from './postgres-name.js'

// What PostgreSQL 15 sends for each failure the emulator answers itself, measured against PostgreSQL 15.18:
// the same SQLSTATE and text, and the same F/L/R fields. Line numbers differ between PostgreSQL versions;
// clients never match on them, so one version's are kept.
const fatal = (code: string, message: string | Buffer, location?: SourceLocation): ErrorFields => ({
  severity: 'FATAL',
  code,
  message,
  ...(location === undefined ? {} : { location }),
})
const startupPacket = (line: number): SourceLocation => ({
  file: 'postmaster.c',
  line,
  routine: 'ProcessStartupPacket',
})
const clientAuthentication = (line: number): SourceLocation => ({
  file: 'auth.c',
  line,
  routine: 'ClientAuthentication',
})
// A text that names users or databases, with their bytes as PostgreSQL writes them: a name cut inside a
// character keeps its lone first byte.
const naming = (texts: TemplateStringsArray, ...values: (string | PostgresName)[]): Buffer =>
  Buffer.concat(
    texts.flatMap((text, index) => {
      const value = values[index]
      const bytes = value === undefined ? [] : [typeof value === 'string' ? Buffer.from(value) : value.bytes]
      return [Buffer.from(text), ...bytes]
    }),
  )
const passwordPacket = (line: number): SourceLocation => ({
  file: 'auth.c',
  line,
  routine: 'recv_password_packet',
})

/** A startup packet asking for a protocol version other than 3. */
export const unsupportedProtocol = (version: string): ErrorFields =>
  fatal('0A000', `unsupported frontend protocol ${version}: server supports 3.0 to 3.0`, startupPacket(2222))

/** A startup packet whose name/value list does not end exactly at its last byte. */
export const invalidStartupLayout: ErrorFields = fatal(
  '08P01',
  'invalid startup packet layout: expected terminator as last byte',
  startupPacket(2334),
)

/** A startup packet without a user. */
export const noUserName: ErrorFields = fatal(
  '28000',
  'no PostgreSQL user name specified in startup packet',
  startupPacket(2351),
)

/** How pg_hba.conf refuses a connection without TLS: no line matches it, or a `hostnossl ... reject` line does. */
export type HbaRefusal = 'no-entry' | 'reject'

/**
 * A connection without TLS that pg_hba.conf does not let in. RDS for PostgreSQL 15 and later with
 * `rds.force_ssl=1` has only `hostssl` lines, so no entry matches; with `rds.force_ssl=0` a line rejects IAM users.
 */
export const noEncryption = (
  refusal: HbaRefusal,
  host: string,
  user: PostgresName,
  database: PostgresName,
): ErrorFields => {
  const connection = naming`host "${host}", user "${user}", database "${database}", no encryption`
  const [opening, line] =
    refusal === 'no-entry' ? ['no pg_hba.conf entry for ', 544] : ['pg_hba.conf rejects connection for ', 476]
  return fatal('28000', Buffer.concat([Buffer.from(opening), connection]), clientAuthentication(line))
}

/** Something other than a PasswordMessage where the password was asked for; `type` is the byte's value. */
export const expectedPasswordResponse = (type: number): ErrorFields =>
  fatal('08P01', `expected password response, got message type ${type}`, passwordPacket(718))

/** A PasswordMessage whose text does not end exactly at its last byte (no NUL, or one inside). */
export const invalidPasswordPacketSize: ErrorFields = fatal(
  '08P01',
  'invalid password packet size',
  passwordPacket(739),
)

/** A PasswordMessage with an empty password. */
export const emptyPassword: ErrorFields = fatal(
  '28P01',
  'empty password returned by client',
  passwordPacket(757),
)

/** RDS's answer to a token it refuses, whatever the reason: its PAM module failed. */
export const pamAuthenticationFailed = (user: PostgresName): ErrorFields =>
  fatal('28000', naming`PAM authentication failed for user "${user}"`, {
    file: 'auth.c',
    line: 334,
    routine: 'auth_failed',
  })

/**
 * Bytes that came after an SSLRequest but before the TLS handshake (CVE-2021-23214). PostgreSQL only notices
 * them after a handshake the client cannot complete; the emulator says so at once, in plaintext.
 */
export const unencryptedDataAfterSslRequest: ErrorFields = {
  ...fatal('08P01', 'received unencrypted data after SSL request'),
  detail: 'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.',
}

/**
 * The emulator's throttling answer, what an overloaded instance logs. PostgreSQL never sends it to a client
 * itself (it closes the connection), so it carries no source location.
 */
export const authenticationTimeout: ErrorFields = fatal('57014', 'canceling authentication due to timeout')

/** PostgreSQL's answer to a login beyond `max_connections`. */
export const tooManyClients: ErrorFields = fatal('53300', 'sorry, too many clients already', {
  file: 'proc.c',
  line: 359,
  routine: 'InitProcess',
})

/** The emulator cannot reach its upstream PostgreSQL; not an RDS answer. */
export const upstreamUnreachable: ErrorFields = fatal(
  '08006',
  'the emulator could not reach its upstream PostgreSQL',
)

/** A bug in the emulator; not an RDS answer. */
export const emulatorFailure = (message: string): ErrorFields =>
  fatal('08006', `the RDS IAM emulator failed: ${message}`)
