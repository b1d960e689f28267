// Request codes that take the place of a protocol version in the first packets of a connection.
const CANCEL_REQUEST = 80_877_102
const SSL_REQUEST = 80_877_103
const GSSENC_REQUEST = 80_877_104
// A CancelRequest is its length, its code, a process id and a secret key.
const CANCEL_REQUEST_BYTES = 16
// Startup parameters with this prefix are protocol options, not settings; PostgreSQL 15 to 17 know none.
const PROTOCOL_OPTION_PREFIX = '_pq_.'

/** A startup message: a protocol version and name/value parameters. */
export interface StartupMessage {
  kind: 'startup'
  majorVersion: number
  minorVersion: number
  /** The packet as received (length included). */
  raw: Buffer
}

/** One of the packets a client may open a connection with. */
export type StartupPacket =
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  | { kind: 'cancel-request'; raw: Buffer }
  /** A CancelRequest of the wrong size; PostgreSQL closes such a connection without an answer. */
  | { kind: 'invalid' }
  | StartupMessage

/** The parameters of a protocol 3 startup message. */
export interface StartupParameters {
  /** Settings, `user` and `database` included, as sent: PostgreSQL reads their values as bytes. */
  settings: ReadonlyMap<string, Buffer>
  /** `_pq_.` protocol options the client asked for; none is supported. */
  protocolOptions: readonly string[]
  /** The name/value pairs as bytes, in order, protocol options left out: what is forwarded upstream. */
  forwardable: readonly Buffer[]
}

/** Which encryption requests the connection already had answered; asked again, PostgreSQL reads a version. */
export interface Negotiated {
  tls: boolean
  gss: boolean
}

/**
 * Decodes a packet read by `MessageReader.readStartupPacket`. An SSLRequest or GSSENCRequest that was already
 * answered counts as a startup message with the code as its version, as PostgreSQL reads it (so it is refused
 * as protocol 1234.5679).
 */
export function parseStartupPacket(packet: Buffer, negotiated: Negotiated): StartupPacket {
  const code = packet.readUInt32BE(4)
  if (code === SSL_REQUEST && !negotiated.tls) return { kind: 'ssl-request' }
  if (code === GSSENC_REQUEST && !negotiated.gss) return { kind: 'gssenc-request' }
  if (code === CANCEL_REQUEST) {
    return packet.length === CANCEL_REQUEST_BYTES
      ? { kind: 'cancel-request', raw: packet }
      : { kind: 'invalid' }
  }
  return { kind: 'startup', majorVersion: code >>> 16, minorVersion: code & 0xffff, raw: packet }
}

/**
 * Reads the name/value pairs of a protocol 3 startup message as PostgreSQL does: pairs of NUL-terminated
 * strings up to an empty name, which must be the last byte. Returns `undefined` for any other layout.
 */
export function parseStartupParameters(message: StartupMessage): StartupParameters | undefined {
  const { raw } = message
  const settings = new Map<string, Buffer>()
  const protocolOptions: string[] = []
  const forwardable: Buffer[] = []
  const stringEnd = (from: number): number => {
    const nul = raw.indexOf(0, from)
    return nul < 0 ? raw.length : nul
  }
  let offset = 8
  while (offset < raw.length && raw[offset] !== 0) {
    const valueOffset = stringEnd(offset) + 1
    if (valueOffset >= raw.length) break
    const next = stringEnd(valueOffset) + 1
    const name = raw.toString('utf8', offset, valueOffset - 1)
    if (name.startsWith(PROTOCOL_OPTION_PREFIX)) protocolOptions.push(name)
    else {
      settings.set(name, raw.subarray(valueOffset, next - 1))
      forwardable.push(raw.subarray(offset, next))
    }
    offset = next
  }
  if (offset !== raw.length - 1) return undefined
  return { settings, protocolOptions, forwardable }
}

/** True when PostgreSQL answers this startup with NegotiateProtocolVersion: a newer minor version or options. */
export function needsNegotiation(message: StartupMessage, parameters: StartupParameters): boolean {
  return message.minorVersion > 0 || parameters.protocolOptions.length > 0
}

/**
 * The startup message to open the upstream session with: the client's own when there was nothing to negotiate,
 * else protocol 3.0 without protocol options, because the emulator already answered the negotiation.
 */
export function upstreamStartupMessage(message: StartupMessage, parameters: StartupParameters): Buffer {
  if (!needsNegotiation(message, parameters)) return message.raw
  const body = Buffer.concat([...parameters.forwardable, Buffer.from([0])])
  const header = Buffer.alloc(8)
  header.writeUInt32BE(8 + body.length, 0)
  header.writeUInt32BE(0x0003_0000, 4)
  return Buffer.concat([header, body])
}
