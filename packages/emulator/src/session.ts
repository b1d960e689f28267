import type { Socket } from 'node:net'
import { type SecureContext, TLSSocket } from 'node:tls'
import type { Authenticator, LoginVerdict } from './authenticator.js'
import type { ControlState } from './controls.js'
import type { EmulatorEvent } from './events.js'
import { MAX_TOKEN_BYTES } from './sigv4-verifier.js'
import type { Upstream } from './upstream.js'
import {
  authenticationCleartextPassword,
  ConnectionClosedError,
  type ErrorFields,
  errorResponse,
  MessageReader,
  ProtocolError,
  parseStartupPacket,
  readCString,
  type StartupPacket,
} from './wire-protocol.js'

/** What a session needs from its emulator. */
export interface SessionContext {
  secureContext: SecureContext
  upstream: Upstream
  controls: ControlState
  authenticate: Authenticator
  emit(event: EmulatorEvent): void
}

/** One client connection, from its first packet until it closes. */
export interface Session {
  /** Closes the client connection and its upstream connection at once. */
  destroy(): void
}

type Startup = Extract<StartupPacket, { kind: 'startup' }>
type Rejection = Omit<Extract<LoginVerdict, { ok: false }>, 'ok'>

// PostgreSQL's default authentication_timeout.
const AUTH_TIMEOUT_MS = 60_000
// A PasswordMessage body is the token and its terminating NUL.
const MAX_PASSWORD_BODY_BYTES = MAX_TOKEN_BYTES + 1

const fatal = (code: string, message: string): ErrorFields => ({ severity: 'FATAL', code, message })
const pamFailure = (user: string): ErrorFields =>
  fatal('28000', `PAM authentication failed for user "${user}"`)
const authTimeout = fatal('57014', 'canceling authentication due to timeout')

/**
 * Serves one client connection as RDS does: negotiates TLS, answers GSSAPI encryption with 'N', forwards
 * CancelRequests, authenticates IAM users by token and then relays the session to the upstream PostgreSQL,
 * whose own AuthenticationOk, ParameterStatus, BackendKeyData and ReadyForQuery reach the client unchanged.
 */
export function startSession(socket: Socket, context: SessionContext): Session {
  let client: Socket = socket
  let server: Socket | undefined
  let started = false
  const destroy = (): void => {
    clearTimeout(timer)
    client.destroy()
    socket.destroy()
    server?.destroy()
  }
  const refuse = (fields: ErrorFields): void => {
    clearTimeout(timer)
    if (!client.destroyed) client.end(errorResponse(fields))
  }
  const timer = setTimeout(() => (started ? refuse(authTimeout) : destroy()), AUTH_TIMEOUT_MS)
  socket.setNoDelay(true)
  socket.on('error', destroy)

  // Hands the connection to the upstream: the startup packet as the client sent it (the upstream trusts IAM
  // users on its socket), anything the client already sent after it, then bytes both ways.
  const relay = (startup: Startup, reader: MessageReader): void => {
    clearTimeout(timer)
    // The client may have left while its login was checked; an upstream session opened now would linger.
    if (client.destroyed) {
      destroy()
      return
    }
    const pending = reader.release()
    const upstream = context.upstream.connect()
    server = upstream
    upstream.on('error', (error) => {
      context.emit({ type: 'connection-error', message: `upstream: ${error.message}` })
      if (upstream.bytesRead > 0) destroy()
      else refuse(fatal('08006', 'the emulator could not reach its upstream PostgreSQL'))
    })
    upstream.write(startup.raw)
    if (pending.length > 0) upstream.write(pending)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
  }

  const login = async (startup: Startup, reader: MessageReader, encrypted: boolean): Promise<void> => {
    started = true
    const { majorVersion, minorVersion, parameters } = startup
    const user = parameters.get('user')
    if (!user) return refuse(fatal('28000', 'no PostgreSQL user name specified in startup packet'))
    if (majorVersion !== 3) {
      const version = `${majorVersion}.${minorVersion}`
      return refuse(fatal('0A000', `unsupported frontend protocol ${version}: server supports 3.0 to 3.0`))
    }
    const database = parameters.get('database') || user
    const reject = (rejection: Rejection, fields: ErrorFields): void => {
      context.emit({ type: 'auth-rejected', user, database, ...rejection })
      refuse(fields)
    }
    if (!(await context.upstream.isIamUser(user))) {
      context.emit({ type: 'passthrough', user, database, encrypted })
      return relay(startup, reader)
    }
    if (!encrypted) {
      const host = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
      const message = `pg_hba.conf rejects connection for host "${host}", user "${user}", database "${database}", no encryption`
      const rejection = { reason: 'no-encryption', detail: 'IAM users must connect with TLS' } as const
      return reject(rejection, fatal('28000', message))
    }
    if (!context.controls.admitLogin()) {
      return reject({ reason: 'throttled', detail: 'over the throttle() limit' }, authTimeout)
    }
    client.write(authenticationCleartextPassword())
    let token: string
    try {
      const message = await reader.readMessage(MAX_PASSWORD_BODY_BYTES)
      if (message.type !== 'p') {
        const code = message.type.charCodeAt(0)
        const fields = fatal('08P01', `expected password response, got message type ${code}`)
        return reject({ reason: 'malformed', detail: 'no PasswordMessage' }, fields)
      }
      token = readCString(message.body)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      return reject({ reason: 'malformed', detail: `PasswordMessage: ${error.message}` }, pamFailure(user))
    }
    const verdict = await context.authenticate(token, user)
    if (!verdict.ok) {
      const { ok: _, ...rejection } = verdict
      return reject(rejection, pamFailure(user))
    }
    context.emit({ type: 'auth-accepted', user, database, accessKeyId: verdict.accessKeyId })
    relay(startup, reader)
  }

  const negotiate = async (): Promise<void> => {
    let reader = new MessageReader(socket)
    let encrypted = false
    for (;;) {
      const packet = parseStartupPacket(await reader.readStartupPacket())
      if (packet.kind === 'startup') return login(packet, reader, encrypted)
      if (packet.kind === 'cancel-request') {
        const upstream = context.upstream.connect()
        // PostgreSQL never tells a client whether its cancel worked, so a failed one is only dropped.
        upstream.on('error', () => undefined)
        upstream.end(packet.raw)
        context.emit({ type: 'cancel-forwarded' })
        return destroy()
      }
      if (packet.kind === 'gssenc-request') {
        client.write('N')
        continue
      }
      if (encrypted) throw new ProtocolError('SSLRequest on an encrypted connection')
      // Bytes sent before the TLS handshake would be taken as if they had come encrypted (CVE-2021-23214).
      if (reader.release().length > 0) throw new ProtocolError('received unencrypted data after SSL request')
      socket.write('S')
      client = new TLSSocket(socket, { isServer: true, secureContext: context.secureContext })
      client.on('error', destroy)
      reader = new MessageReader(client)
      encrypted = true
    }
  }

  negotiate().catch((error: unknown) => {
    if (error instanceof ProtocolError) return refuse(fatal('08P01', error.message))
    if (error instanceof ConnectionClosedError || client.destroyed) return destroy()
    const { message } = error as Error
    context.emit({ type: 'connection-error', message })
    refuse(fatal('08006', `the RDS IAM emulator failed: ${message}`))
  })
  return { destroy }
}
