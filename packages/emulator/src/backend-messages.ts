/** Where PostgreSQL raised an error: its F (file), L (line) and R (routine) fields. */
export interface SourceLocation {
  file: string
  line: number
  routine: string
}

/** The fields of one ErrorResponse, in the order PostgreSQL writes them. */
export interface ErrorFields {
  severity: 'FATAL' | 'ERROR'
  /** SQLSTATE */
  code: string
  /** Bytes where the text names a user or database, whose bytes PostgreSQL writes as they are. */
  message: string | Buffer
  detail?: string
  /** The HINT field, where Aurora DSQL says why it refused a token. */
  hint?: string
  /** Omitted for answers PostgreSQL itself never sends, such as the throttling answer. */
  location?: SourceLocation
}

// The newest protocol the emulator and its upstream speak: 3.0, as PostgreSQL 15 to 17.
const LATEST_PROTOCOL = 0x0003_0000

function message(type: string, body: Buffer): Buffer {
  const packet = Buffer.alloc(5 + body.length)
  packet.write(type, 0, 'latin1')
  packet.writeUInt32BE(body.length + 4, 1)
  body.copy(packet, 5)
  return packet
}

const cString = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat([
    ...parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)),
    Buffer.from([0]),
  ])

/** ErrorResponse ('E'): S and V (severity, localized and not), C, M, then D, H, F, L, R when known. */
export function errorResponse(fields: ErrorFields): Buffer {
  const { location } = fields
  const tagged: [string, string | Buffer | undefined][] = [
    ['S', fields.severity],
    ['V', fields.severity],
    ['C', fields.code],
    ['M', fields.message],
    ['D', fields.detail],
    ['H', fields.hint],
    ['F', location?.file],
    ['L', location?.line.toString()],
    ['R', location?.routine],
  ]
  const present = tagged.flatMap(([tag, value]) => (value === undefined ? [] : [cString(tag, value)]))
  return message('E', Buffer.concat([...present, Buffer.from([0])]))
}

/**
 * The error PostgreSQL sends to a client that asked for protocol 2 or older, in the old format: 'E', the text
 * and a NUL, no length.
 */
export function protocol2ErrorResponse(text: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from('E', 'latin1'), cString('FATAL:  ', text, '\n')])
}

/**
 * NegotiateProtocolVersion ('v'): the newest protocol the server speaks and the `_pq_.` options it did not
 * recognise, sent when a client asks for a newer minor version or for protocol options.
 */
export function negotiateProtocolVersion(unrecognizedOptions: readonly string[]): Buffer {
  const header = Buffer.alloc(8)
  header.writeUInt32BE(LATEST_PROTOCOL, 0)
  header.writeUInt32BE(unrecognizedOptions.length, 4)
  return message('v', Buffer.concat([header, ...unrecognizedOptions.map((option) => cString(option))]))
}

/** AuthenticationCleartextPassword ('R', 3): how RDS asks an IAM user for the token. */
export function authenticationCleartextPassword(): Buffer {
  const body = Buffer.alloc(4)
  body.writeUInt32BE(3)
  return message('R', body)
}
