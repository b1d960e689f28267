import type { Readable } from 'node:stream'

// Request codes that take the place of a protocol version in the first packets of a connection.
const SSL_REQUEST = 80_877_103
const GSSENC_REQUEST = 80_877_104
const CANCEL_REQUEST = 80_877_102
// PostgreSQL's own limit for the packets before authentication.
const MAX_STARTUP_PACKET_BYTES = 10_000

/** One of the packets a client may open a connection with. `raw` is the packet as received, to forward. */
export type StartupPacket =
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  | { kind: 'cancel-request'; raw: Buffer }
  | {
      kind: 'startup'
      majorVersion: number
      minorVersion: number
      parameters: ReadonlyMap<string, string>
      raw: Buffer
    }

/** A regular message: one type byte and its body (without the length). */
export interface FrontendMessage {
  type: string
  body: Buffer
}

/** A violation of the protocol; answered with FATAL 08P01, as PostgreSQL does. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
}

/** The client went away while a packet was awaited; nothing is left to answer. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError'
}

/** The fields PostgreSQL puts in every ErrorResponse before any detail. */
export interface ErrorFields {
  severity: 'FATAL' | 'ERROR'
  /** SQLSTATE */
  code: string
  message: string
}

/** Decodes a packet read by {@link MessageReader.readStartupPacket}. */
export function parseStartupPacket(packet: Buffer): StartupPacket {
  const code = packet.readUInt32BE(4)
  if (code === SSL_REQUEST) return { kind: 'ssl-request' }
  if (code === GSSENC_REQUEST) return { kind: 'gssenc-request' }
  if (code === CANCEL_REQUEST) return { kind: 'cancel-request', raw: packet }
  const parameters = new Map<string, string>()
  const strings = packet.subarray(8).toString('utf8').split('\0')
  // Name/value pairs, then an empty name that ends the list.
  for (let i = 0; i + 1 < strings.length && strings[i] !== ''; i += 2) {
    parameters.set(strings[i]!, strings[i + 1]!)
  }
  return { kind: 'startup', majorVersion: code >>> 16, minorVersion: code & 0xffff, parameters, raw: packet }
}

/** ErrorResponse ('E') with severity (localized and not), SQLSTATE and message. */
export function errorResponse(fields: ErrorFields): Buffer {
  const body = Buffer.concat([
    ...[
      ['S', fields.severity],
      ['V', fields.severity],
      ['C', fields.code],
      ['M', fields.message],
    ].map(([tag, value]) => Buffer.from(`${tag}${value}\0`, 'utf8')),
    Buffer.from([0]),
  ])
  return message('E', body)
}

/** AuthenticationCleartextPassword ('R', 3): how RDS asks an IAM user for the token. */
export function authenticationCleartextPassword(): Buffer {
  const body = Buffer.alloc(4)
  body.writeUInt32BE(3)
  return message('R', body)
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

/** The text of a message body up to its first NUL, e.g. the password of a PasswordMessage. */
export function readCString(body: Buffer): string {
  const end = body.indexOf(0)
  return body.toString('utf8', 0, end < 0 ? body.length : end)
}

/**
 * Reads length-prefixed packets from a stream as they arrive, so the connection can be inspected until
 * authentication is done, then handed over whole (with anything already received) to a pipe.
 */
export class MessageReader {
  private buffered: Buffer = Buffer.alloc(0)
  private closed = false
  private wake: (() => void) | undefined

  constructor(private readonly stream: Readable) {
    stream.on('data', this.onData)
    stream.on('close', this.onClose)
    stream.on('end', this.onClose)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    this.wake?.()
  }

  private readonly onClose = (): void => {
    this.closed = true
    this.wake?.()
  }

  private async take(length: number): Promise<Buffer> {
    while (this.buffered.length < length) {
      if (this.closed) throw new ConnectionClosedError('connection closed by the client')
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      this.wake = undefined
    }
    const taken = this.buffered.subarray(0, length)
    this.buffered = this.buffered.subarray(length)
    return taken
  }

  private async peekLength(offset: number): Promise<number> {
    const header = await this.take(offset + 4)
    this.buffered = Buffer.concat([header, this.buffered])
    return header.readUInt32BE(offset)
  }

  /** Reads one untyped packet (SSLRequest, GSSENCRequest, CancelRequest or StartupMessage), length included. */
  async readStartupPacket(): Promise<Buffer> {
    const length = await this.peekLength(0)
    if (length < 8 || length > MAX_STARTUP_PACKET_BYTES)
      throw new ProtocolError('invalid length of startup packet')
    return this.take(length)
  }

  /** Reads one typed message; a body longer than `maxBodyBytes` is refused before it is buffered. */
  async readMessage(maxBodyBytes: number): Promise<FrontendMessage> {
    const length = await this.peekLength(1)
    if (length < 4 || length - 4 > maxBodyBytes) throw new ProtocolError('invalid message length')
    const packet = await this.take(length + 1)
    return { type: String.fromCharCode(packet[0]!), body: packet.subarray(5) }
  }

  /** Stops reading and returns what was received but not read yet; the stream is left paused. */
  release(): Buffer {
    this.stream.pause()
    this.stream.off('data', this.onData)
    this.stream.off('close', this.onClose)
    this.stream.off('end', this.onClose)
    const rest = this.buffered
    this.buffered = Buffer.alloc(0)
    return rest
  }
}
