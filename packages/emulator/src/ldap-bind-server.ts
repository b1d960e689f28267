import { createServer, type Server, type Socket } from 'node:net'

/** Answers one simple bind: `name` is the bind DN, `password` what the client sent as its password. */
export type BindHandler = (name: string, password: string) => Promise<boolean>

/** A listening LDAP server that answers simple binds and nothing else. */
export interface LdapBindServer {
  readonly port: number
  close(): Promise<void>
}

// The only LDAP a PostgreSQL `ldap` line in simple bind mode speaks: BindRequest, then UnbindRequest (RFC 4511).
const SEQUENCE = 0x30
const INTEGER = 0x02
const OCTET_STRING = 0x04
const ENUMERATED = 0x0a
const BIND_REQUEST = 0x60
const BIND_RESPONSE = 0x61
const UNBIND_REQUEST = 0x42
const SIMPLE_AUTHENTICATION = 0x80
const SUCCESS = 0
const AUTH_METHOD_NOT_SUPPORTED = 7
const INVALID_CREDENTIALS = 49
// PostgreSQL sends at most a 65,535-byte password; anything longer is not a bind from PostgreSQL.
const MAX_MESSAGE_BYTES = 70_000

interface Element {
  tag: number
  /** Where the element's contents start and end in the buffer. */
  start: number
  end: number
}

// One BER element at `offset`, undefined while the buffer does not hold all of it yet. Lengths in definite form
// only, as LDAP requires (RFC 4511, section 5.1).
function readElement(buffer: Buffer, offset: number): Element | undefined {
  if (buffer.length < offset + 2) return undefined
  const tag = buffer[offset]!
  const first = buffer[offset + 1]!
  let start = offset + 2
  let length = first
  if (first & 0x80) {
    const octets = first & 0x7f
    if (octets === 0 || octets > 3) throw new Error(`unsupported BER length of ${octets} octets`)
    if (buffer.length < start + octets) return undefined
    length = buffer.readUIntBE(start, octets)
    start += octets
  }
  const end = start + length
  return end > buffer.length ? undefined : { tag, start, end }
}

function expectElement(buffer: Buffer, offset: number, tag: number, end: number): Element {
  const element = readElement(buffer, offset)
  if (!element || element.end > end || element.tag !== tag) {
    throw new Error(`expected BER tag 0x${tag.toString(16)} at byte ${offset}`)
  }
  return element
}

function encodeElement(tag: number, contents: Buffer): Buffer {
  const { length } = contents
  const header =
    length < 0x80
      ? [tag, length]
      : length < 0x100
        ? [tag, 0x81, length]
        : [tag, 0x82, length >> 8, length & 0xff]
  return Buffer.concat([Buffer.from(header), contents])
}

function bindResponse(messageId: Buffer, resultCode: number, diagnostic: string): Buffer {
  const result = Buffer.concat([
    encodeElement(ENUMERATED, Buffer.from([resultCode])),
    encodeElement(OCTET_STRING, Buffer.alloc(0)),
    encodeElement(OCTET_STRING, Buffer.from(diagnostic)),
  ])
  return encodeElement(
    SEQUENCE,
    Buffer.concat([encodeElement(INTEGER, messageId), encodeElement(BIND_RESPONSE, result)]),
  )
}

type Request =
  | { kind: 'bind'; messageId: Buffer; name: string; password: string | undefined }
  | { kind: 'unbind' }

function parseRequest(buffer: Buffer, message: Element): Request {
  const id = expectElement(buffer, message.start, INTEGER, message.end)
  const messageId = buffer.subarray(id.start, id.end)
  const operation = readElement(buffer, id.end)
  if (operation?.tag === UNBIND_REQUEST) return { kind: 'unbind' }
  const bind = expectElement(buffer, id.end, BIND_REQUEST, message.end)
  const version = expectElement(buffer, bind.start, INTEGER, bind.end)
  const name = expectElement(buffer, version.end, OCTET_STRING, bind.end)
  const credentials = readElement(buffer, name.end)
  if (!credentials || credentials.end > bind.end) throw new Error('BindRequest without authentication')
  const password =
    credentials.tag === SIMPLE_AUTHENTICATION
      ? buffer.toString('utf8', credentials.start, credentials.end)
      : undefined
  return { kind: 'bind', messageId, name: buffer.toString('utf8', name.start, name.end), password }
}

function serve(socket: Socket, check: BindHandler): void {
  let buffered = Buffer.alloc(0)
  socket.on('error', () => socket.destroy())
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    try {
      for (;;) {
        const message = readElement(buffered, 0)
        if (!message) {
          if (buffered.length > MAX_MESSAGE_BYTES) throw new Error('LDAP message too long')
          return
        }
        if (message.tag !== SEQUENCE) throw new Error('not an LDAPMessage')
        const request = parseRequest(buffered, message)
        buffered = buffered.subarray(message.end)
        if (request.kind === 'unbind') return void socket.end()
        answer(socket, request, check)
      }
    } catch {
      // Not PostgreSQL's LDAP client: there is nothing to answer it in.
      socket.destroy()
    }
  })
}

function answer(socket: Socket, request: Extract<Request, { kind: 'bind' }>, check: BindHandler): void {
  const { messageId, name, password } = request
  if (password === undefined) {
    socket.write(bindResponse(messageId, AUTH_METHOD_NOT_SUPPORTED, 'only simple binds'))
    return
  }
  check(name, password).then(
    (ok) => {
      if (socket.destroyed) return
      socket.write(
        ok
          ? bindResponse(messageId, SUCCESS, '')
          : bindResponse(messageId, INVALID_CREDENTIALS, 'token rejected'),
      )
    },
    () => socket.destroy(),
  )
}

/**
 * Starts an LDAP server on 127.0.0.1 that answers simple binds with `check`: what a PostgreSQL `ldap` line in
 * simple bind mode asks of it. Written here because the one LDAP server library for Node, ldapjs, was
 * decommissioned in 2024, and a bind is two messages.
 */
export async function startLdapBindServer(check: BindHandler): Promise<LdapBindServer> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    serve(socket, check)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
