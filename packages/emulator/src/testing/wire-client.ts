import { once } from 'node:events'
import { connect as dial, type Socket } from 'node:net'
import { connect as dialTls, type TLSSocket } from 'node:tls'
import type { Emulator } from '../start-emulator.js'

// The codes a client puts where a protocol version goes.
export const SSL_REQUEST = 80_877_103
export const GSSENC_REQUEST = 80_877_104

/** A packet without a type byte: length, code (a version or request code), body. */
export function untypedPacket(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8)
  header.writeUInt32BE(8 + body.length, 0)
  header.writeUInt32BE(code, 4)
  return Buffer.concat([header, body])
}

/** A StartupMessage for `major.minor` with the given parameters and the terminating empty name. */
export function startupMessage(parameters: Record<string, string>, major = 3, minor = 0): Buffer {
  const pairs = Object.entries(parameters).map(([name, value]) => `${name}\0${value}\0`)
  return untypedPacket((major << 16) | minor, Buffer.from(`${pairs.join('')}\0`))
}

/** A typed frontend message: type byte, length word (counting itself), body. */
export function typedMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

/** A PasswordMessage carrying `password` and its NUL. */
export const passwordMessage = (password: string): Buffer => typedMessage('p', Buffer.from(`${password}\0`))

/** A simple Query message. */
export const queryMessage = (sql: string): Buffer => typedMessage('Q', Buffer.from(`${sql}\0`))

/** One backend message; `fields` holds an ErrorResponse's tagged fields in the order they came. */
export interface BackendMessage {
  type: string
  body: Buffer
  fields?: [string, string][]
}

/** Splits what a server sent into messages; a trailing partial message is left out. */
export function parseBackendMessages(data: Buffer): BackendMessage[] {
  const messages: BackendMessage[] = []
  for (let offset = 0; offset + 5 <= data.length; ) {
    const end = offset + 1 + data.readUInt32BE(offset + 1)
    if (end > data.length) break
    const type = String.fromCharCode(data[offset]!)
    const body = data.subarray(offset + 5, end)
    const fields =
      type === 'E'
        ? body
            .toString('utf8')
            .split('\0')
            .filter(Boolean)
            .map((field): [string, string] => [field[0]!, field.slice(1)])
        : undefined
    messages.push({ type, body, ...(fields ? { fields } : {}) })
    offset = end
  }
  return messages
}

/** A plain TCP connection to the emulator (or to any server at `host` and `port`). */
export async function dialEmulator(emulator: Pick<Emulator, 'host' | 'port'>): Promise<Socket> {
  const socket = dial(emulator.port, emulator.host)
  socket.on('error', () => undefined)
  await once(socket, 'connect')
  return socket
}

/** A raw client that keeps its own side open, and how it learns that the server closed the connection for good. */
export interface HoldingClient {
  socket: Socket
  /**
   * Resolves with what the server sent once it closed the connection for good; rejects if it is still open after
   * `timeoutMs`. A server that only half-closed would keep taking the client's bytes; a closed one answers them
   * with a reset.
   */
  closedByServer(timeoutMs?: number): Promise<Buffer>
}

/** A plain TCP connection to the emulator that, like a stubborn client, never ends its side by itself. */
export async function dialHoldingClient(emulator: Emulator): Promise<HoldingClient> {
  const socket = dial({ port: emulator.port, host: emulator.host, allowHalfOpen: true })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const reset = new Promise<Buffer>((resolve) => {
    socket.once('error', () => resolve(Buffer.concat(chunks)))
  })
  socket.once('end', () => {
    const probe = setInterval(() => socket.write(Buffer.of(0)), 20)
    void reset.then(() => clearInterval(probe))
  })
  await once(socket, 'connect')
  const closedByServer = (timeoutMs = 10_000): Promise<Buffer> => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the server kept the connection open for ${timeoutMs} ms`)),
        timeoutMs,
      )
    })
    return Promise.race([reset, timeout]).finally(() => clearTimeout(timer))
  }
  return { socket, closedByServer }
}

/** Waits for `count` bytes (at least) from `socket`. */
export async function readBytes(socket: Socket, count: number): Promise<Buffer> {
  let received = Buffer.alloc(0)
  while (received.length < count) {
    const [chunk] = (await once(socket, 'data')) as [Buffer]
    received = Buffer.concat([received, chunk])
  }
  return received
}

/** SSLRequest, 'S', then a verified TLS handshake for the emulator's endpoint. */
export async function dialEmulatorTls(emulator: Emulator): Promise<TLSSocket> {
  const socket = await dialEmulator(emulator)
  socket.write(untypedPacket(SSL_REQUEST))
  const answer = await readBytes(socket, 1)
  if (answer.toString('latin1') !== 'S') throw new Error('the emulator did not accept the SSLRequest')
  const secure = dialTls({ socket, ca: emulator.ca, servername: emulator.endpoint })
  secure.on('error', () => undefined)
  await once(secure, 'secureConnect')
  return secure
}

/** What a server sent on one connection, collected from the moment it was attached. */
export interface Inbox {
  /** Resolves with everything received once `ready` holds for it; rejects if it does not within `timeoutMs`. */
  until(ready: (messages: BackendMessage[]) => boolean, timeoutMs?: number): Promise<BackendMessage[]>
  /** Resolves with everything received once the connection is closed. */
  closed(timeoutMs?: number): Promise<Buffer>
}

/** Collects every byte `socket` receives from now on, so no chunk is missed between two waits. */
export function inbox(socket: Socket): Inbox {
  let received = Buffer.alloc(0)
  let isClosed = false
  const listeners = new Set<() => void>()
  const notify = (): void => {
    for (const listener of listeners) listener()
  }
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk])
    notify()
  })
  socket.once('close', () => {
    isClosed = true
    notify()
  })
  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const listener = (): void => {
        const result = check()
        if (result === undefined) return
        listeners.delete(listener)
        clearTimeout(timer)
        resolve(result)
      }
      const timer = setTimeout(() => {
        listeners.delete(listener)
        reject(new Error(`${what} within ${timeoutMs} ms`))
      }, timeoutMs)
      listeners.add(listener)
      listener()
    })
  return {
    until: (ready, timeoutMs = 10_000) =>
      waitFor(
        () => {
          const messages = parseBackendMessages(received)
          return ready(messages) ? messages : undefined
        },
        timeoutMs,
        'the expected messages did not arrive',
      ),
    closed: (timeoutMs = 10_000) =>
      waitFor(() => (isClosed ? received : undefined), timeoutMs, 'the connection was not closed'),
  }
}

/** Everything the server sends until it closes the connection; rejects if it is still open after `timeoutMs`. */
export function receiveUntilClosed(socket: Socket, timeoutMs = 10_000): Promise<Buffer> {
  return inbox(socket).closed(timeoutMs)
}

/** A readiness check for {@link Inbox.until}: a message of `type` has arrived. */
export const hasMessage =
  (type: string) =>
  (messages: BackendMessage[]): boolean =>
    messages.some((message) => message.type === type)

/** A verified TLS connection whose login as IAM user `user` reached the password request. */
export async function openLogin(
  emulator: Emulator,
  user: string,
): Promise<{ socket: TLSSocket; received: Inbox }> {
  const socket = await dialEmulatorTls(emulator)
  const received = inbox(socket)
  socket.write(startupMessage({ user, database: 'postgres' }))
  await received.until(hasMessage('R'))
  return { socket, received }
}

/** A connection logged in as IAM user `user` with `token`, ready for a query. */
export async function openSession(
  emulator: Emulator,
  user: string,
  token: string,
): Promise<{ socket: TLSSocket; received: Inbox }> {
  const login = await openLogin(emulator, user)
  login.socket.write(passwordMessage(token))
  await login.received.until(hasMessage('Z'))
  return login
}
