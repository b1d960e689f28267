import type { Socket } from 'node:net'
import { type SecureContext, TLSSocket } from 'node:tls'
import type { Authenticator, LoginVerdict } from './authenticator.js'
import {
  authenticationCleartextPassword,
  type ErrorFields,
  errorResponse,
  negotiateProtocolVersion,
  protocol2ErrorResponse,
} from './backend-messages.js'
import type { ControlState } from './controls.js'
import type { EmulatorEvent } from './events.js'
import { ConnectionClosedError, InvalidLengthError, MessageReader } from './message-reader.js'
import {
  emptyPassword,
  emulatorFailure,
  expectedPasswordResponse,
  invalidPasswordPacketSize,
  invalidStartupLayout,
  noUserName,
  unencryptedDataAfterSslRequest,
  unsupportedProtocol,
  upstreamUnreachable,
} from './postgres-errors.js'
import { startupName } from './postgres-name.js'
import { relay } from './relay.js'
import {
  needsNegotiation,
  parseStartupPacket,
  parseStartupParameters,
  type StartupMessage,
  upstreamStartupMessage,
} from './startup-packet.js'
import type { TargetAnswers } from './targets/emulator-target.js'
import type { Upstream } from './upstream.js'

/** What a session needs from its emulator. */
export interface SessionContext {
  secureContext: SecureContext
  upstream: Upstream
  controls: ControlState
  authenticate: Authenticator
  /** Users that are not IAM users need TLS too, as with RDS's `rds.force_ssl=1`. */
  forceSsl: boolean
  /** Past this, a connection that has not logged in is closed without an answer. */
  authenticationTimeoutMs: number
  /** What the emulated server answers to the refusals the emulator makes itself. */
  answers: TargetAnswers
  /** Client connections open now, this one included. */
  openConnections(): number
  /** Every role signs in with a token (Aurora DSQL); otherwise only members of `rds_iam` (RDS). */
  iamOnly: boolean
  /** Past this age an IAM session is closed, as Aurora DSQL closes sessions at 60 minutes; undefined: never. */
  maxSessionAgeMs: number | undefined
  /** True when the open sessions are at `maxConnections`. */
  atConnectionLimit(): boolean
  emit(event: EmulatorEvent): void
}

/** One client connection, from its first packet until it closes. */
export interface Session {
  /** Closes the client connection and its upstream connection at once. */
  destroy(): void
}

type Rejection = Omit<Extract<LoginVerdict, { ok: false }>, 'ok'>

// PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH: the longest PasswordMessage, its length word included.
const MAX_PASSWORD_MESSAGE_LENGTH = 65_535
// Nothing the emulator reads before authentication is longer than a PasswordMessage.
const MAX_BUFFERED_BYTES = MAX_PASSWORD_MESSAGE_LENGTH + 1

/**
 * Serves one client connection as RDS does: negotiates TLS, answers GSSAPI encryption with 'N', forwards
 * CancelRequests, authenticates IAM users by token and then relays the session to the upstream PostgreSQL,
 * whose own AuthenticationOk, ParameterStatus, BackendKeyData and ReadyForQuery reach the client unchanged.
 * Every answer the emulator gives itself is PostgreSQL's own, in PostgreSQL's order; after any refusal
 * nothing more is read and the connection is closed.
 */
export function startSession(socket: Socket, context: SessionContext): Session {
  let client: Socket = socket
  let reader = new MessageReader(socket, MAX_BUFFERED_BYTES)
  let server: Socket | undefined
  let ageTimer: NodeJS.Timeout | undefined
  const destroy = (): void => {
    clearTimeout(timer)
    clearTimeout(ageTimer)
    reader.release()
    client.destroy()
    socket.destroy()
    server?.destroy()
  }
  // Writes the last answer and closes, as a PostgreSQL backend does when it exits.
  const closeWith = (...answer: Buffer[]): void => {
    clearTimeout(timer)
    reader.release()
    if (client.destroyed) destroy()
    else client.end(Buffer.concat(answer), destroy)
  }
  const refuse = (fields: ErrorFields, ...before: Buffer[]): void =>
    closeWith(...before, errorResponse(fields))
  const timer = setTimeout(destroy, context.authenticationTimeoutMs)
  socket.setNoDelay(true)
  socket.on('error', destroy)

  // Hands the connection to the upstream: the startup message (the upstream trusts IAM users on the
  // emulator's own connection), anything the client already sent after it, then bytes both ways.
  // The server ends a session that reached its maximum age, whatever it is doing, as Aurora DSQL does.
  const endAtMaxAge = (user: string, database: string): void => {
    const { maxSessionAgeMs } = context
    if (maxSessionAgeMs === undefined) return
    ageTimer = setTimeout(() => {
      context.emit({ type: 'session-aged-out', user, database, ageMs: maxSessionAgeMs })
      destroy()
    }, maxSessionAgeMs)
    ageTimer.unref()
  }

  const handOver = async (startupMessage: Buffer, iam: boolean): Promise<void> => {
    clearTimeout(timer)
    let upstream: Socket
    try {
      // A password user's socket is used at once, so its errors find the handler below.
      upstream = iam ? await context.upstream.connectIamSession() : context.upstream.connect()
    } catch (error) {
      context.emit({ type: 'connection-error', message: `upstream: ${(error as Error).message}` })
      return refuse(upstreamUnreachable)
    }
    server = upstream
    // The client may have left while its login was checked; an upstream session opened now would linger.
    if (reader.clientLeft || client.destroyed) {
      destroy()
      return
    }
    const pending = reader.release()
    upstream.on('error', (error) => {
      context.emit({ type: 'connection-error', message: `upstream: ${error.message}` })
      if (upstream.bytesRead > 0) destroy()
      else refuse(upstreamUnreachable)
    })
    upstream.write(pending.length > 0 ? Buffer.concat([startupMessage, pending]) : startupMessage)
    relay(client, upstream, destroy)
  }

  // The token, or undefined when the PasswordMessage was refused (and the refusal sent).
  const readPassword = async (
    reject: (rejection: Rejection, ...answer: Buffer[]) => void,
  ): Promise<string | undefined> => {
    const malformed = (detail: string, ...answer: Buffer[]): undefined => {
      reject({ reason: 'malformed', detail }, ...answer)
      return undefined
    }
    const type = await reader.readMessageType()
    if (type !== 'p') {
      return malformed('no PasswordMessage', errorResponse(expectedPasswordResponse(type.charCodeAt(0))))
    }
    let body: Buffer
    try {
      body = await reader.readMessageBody(MAX_PASSWORD_MESSAGE_LENGTH)
    } catch (error) {
      if (!(error instanceof InvalidLengthError)) throw error
      // PostgreSQL only logs a PasswordMessage over its limit and closes the connection.
      return malformed(`PasswordMessage over ${MAX_PASSWORD_MESSAGE_LENGTH} bytes`)
    }
    if (body.indexOf(0) !== body.length - 1) {
      return malformed(
        'PasswordMessage not one NUL-terminated string',
        errorResponse(invalidPasswordPacketSize),
      )
    }
    if (body.length === 1) return malformed('empty password', errorResponse(emptyPassword))
    return body.toString('utf8', 0, body.length - 1)
  }

  const login = async (startup: StartupMessage, encrypted: boolean): Promise<void> => {
    const { majorVersion, minorVersion } = startup
    const version = `${majorVersion}.${minorVersion}`
    const unsupported = unsupportedProtocol(version)
    // A client of protocol 2 or older gets the refusal in its own protocol's format.
    if (majorVersion < 3) return closeWith(protocol2ErrorResponse(unsupported.message))
    if (majorVersion > 3) return refuse(unsupported)
    const parameters = parseStartupParameters(startup)
    if (!parameters) return refuse(invalidStartupLayout)
    const negotiation = needsNegotiation(startup, parameters)
      ? [negotiateProtocolVersion(parameters.protocolOptions)]
      : []
    const { answers } = context
    const sentUser = parameters.settings.get('user')
    if (!sentUser?.length) return refuse(answers.noUser ?? noUserName, ...negotiation)
    // What the upstream will make of the names: the role its session becomes is the one checked, handed to the
    // policy and reported, as on RDS, where PostgreSQL cuts the names before authentication.
    const userName = startupName(sentUser)
    const sentDatabase = parameters.settings.get('database')
    const databaseName = startupName(sentDatabase?.length ? sentDatabase : sentUser)
    const user = userName.text
    const database = databaseName.text
    const reject = (rejection: Rejection, ...answer: Buffer[]): void => {
      context.emit({ type: 'auth-rejected', user, database, ...rejection })
      closeWith(...answer)
    }
    const refused = answers.refuseStartup?.(parameters.settings, context.openConnections())
    if (refused) {
      const { fields, ...rejection } = refused
      return reject(rejection, ...negotiation, errorResponse(fields))
    }
    // A name cut inside a character is no role's: the upstream refuses it as it refuses any unknown user (an
    // IAM-only server refuses its token).
    const iam = context.iamOnly || (userName.wellFormed && (await context.upstream.isIamUser(user)))
    if (!encrypted && (iam || context.forceSsl)) {
      const host = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
      const detail = iam
        ? 'IAM users must connect with TLS'
        : 'rds.force_ssl: every user must connect with TLS'
      // rds.force_ssl=1 leaves no pg_hba.conf line for a connection without TLS; with 0, a line refuses IAM users.
      const refusal = context.forceSsl ? 'no-entry' : 'reject'
      const answer = errorResponse(answers.noEncryption(refusal, host, userName, databaseName))
      return reject({ reason: 'no-encryption', detail }, ...negotiation, answer)
    }
    const passwordRefusal = iam ? undefined : answers.refusePasswordUser?.(user)
    if (passwordRefusal) {
      const { fields, ...rejection } = passwordRefusal
      return reject(rejection, ...negotiation, errorResponse(fields))
    }
    if (!iam) {
      // The upstream answers a password user itself, protocol negotiation included.
      context.emit({ type: 'passthrough', user, database, encrypted })
      return handOver(startup.raw, false)
    }
    if (!context.controls.admitLogin()) {
      const detail = 'over the throttle() limit'
      return reject({ reason: 'throttled', detail }, ...negotiation, errorResponse(context.answers.throttled))
    }
    if (context.atConnectionLimit()) {
      const answer = errorResponse(context.answers.tooManyConnections)
      return reject({ reason: 'too-many-connections', detail: 'at maxConnections' }, ...negotiation, answer)
    }
    client.write(Buffer.concat([...negotiation, authenticationCleartextPassword()]))
    const token = await readPassword(reject)
    if (token === undefined) return
    let verdict = await context.authenticate(token, user)
    // Every role of an IAM-only server is one it knows: a role that does not exist is refused like a bad token.
    if (verdict.ok && context.iamOnly && !(await context.upstream.isIamUser(user))) {
      const detail = `role "${user}" does not exist or is not an IAM role`
      verdict = { ok: false, reason: 'not-mapped', detail, accessKeyId: verdict.accessKeyId }
    }
    if (reader.clientLeft || client.destroyed) {
      context.emit({ type: 'client-left', user, database })
      return destroy()
    }
    if (!verdict.ok) {
      const { ok: _, ...rejection } = verdict
      return reject(rejection, errorResponse(answers.tokenRejected(userName, rejection)))
    }
    context.emit({ type: 'auth-accepted', user, database, accessKeyId: verdict.accessKeyId })
    endAtMaxAge(user, database)
    return handOver(upstreamStartupMessage(startup, parameters), true)
  }

  const negotiate = async (): Promise<void> => {
    const negotiated = { tls: false, gss: false }
    for (;;) {
      const packet = parseStartupPacket(await reader.readStartupPacket(), negotiated)
      if (packet.kind === 'startup') return login(packet, negotiated.tls)
      if (packet.kind === 'invalid') return destroy()
      if (packet.kind === 'cancel-request') {
        const upstream = context.upstream.connect()
        // PostgreSQL never tells a client whether its cancel worked, so a failed one is only dropped.
        upstream.on('error', () => undefined)
        upstream.end(packet.raw)
        context.emit({ type: 'cancel-forwarded' })
        return destroy()
      }
      if (packet.kind === 'gssenc-request') {
        negotiated.gss = true
        client.write('N')
        continue
      }
      // Bytes sent before the TLS handshake would be taken as if they had come encrypted (CVE-2021-23214).
      if (reader.release().length > 0) return refuse(unencryptedDataAfterSslRequest)
      socket.write('S')
      client = new TLSSocket(socket, { isServer: true, secureContext: context.secureContext })
      client.on('error', destroy)
      reader = new MessageReader(client, MAX_BUFFERED_BYTES)
      negotiated.tls = true
      negotiated.gss = true
    }
  }

  negotiate().catch((error: unknown) => {
    // PostgreSQL closes without an answer when a length is out of range or the client is gone.
    if (error instanceof InvalidLengthError || error instanceof ConnectionClosedError) return destroy()
    if (client.destroyed) return destroy()
    const { message } = error as Error
    context.emit({ type: 'connection-error', message })
    refuse(emulatorFailure(message))
  })
  return { destroy }
}
