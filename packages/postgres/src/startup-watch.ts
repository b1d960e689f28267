import type { TLSSocket } from 'node:tls'

// PostgreSQL's backend message types that end a startup: ReadyForQuery, or an ErrorResponse.
const READY_FOR_QUERY = 0x5a
const ERROR_RESPONSE = 0x45
// ErrorResponse fields: the SQLSTATE and the message.
const FIELD_CODE = 0x43
const FIELD_MESSAGE = 0x4d

/** A server's refusal at startup, with its SQLSTATE, as core classifies driver errors. */
export interface StartupError extends Error {
  code: string | undefined
}

/**
 * Resolves when the server says the connection is ready for queries (ReadyForQuery), and rejects with the server's
 * ErrorResponse, the socket's error, or its close before that. Reads the startup messages beside postgres.js (a
 * second 'data' listener, attached before postgres.js's) and then stops listening, so queries never pass through it.
 */
export function watchStartup(socket: TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
      let offset = 0
      // Each message: a type byte, then an Int32 length that counts itself and the body.
      while (received.length - offset >= 5) {
        const end = offset + 1 + received.readUInt32BE(offset + 1)
        if (end > received.length) break
        const type = received[offset]
        if (type === READY_FOR_QUERY || type === ERROR_RESPONSE) {
          done(type === ERROR_RESPONSE ? startupError(received.subarray(offset + 5, end)) : undefined)
          return
        }
        offset = end
      }
      received = received.subarray(offset)
    }
    const onError = (error: Error): void => done(error)
    const onClose = (): void =>
      done(
        Object.assign(new Error('The server closed the connection during sign-in.'), {
          code: 'CONNECTION_CLOSED',
        }),
      )
    function done(error: Error | undefined): void {
      socket.off('data', onData).off('error', onError).off('close', onClose)
      if (error) reject(error)
      else resolve()
    }
    socket.on('data', onData).on('error', onError).on('close', onClose)
  })
}

// Fields are a type byte and a NUL-terminated string each, the list ended by a NUL.
function startupError(body: Buffer): StartupError {
  const fields = new Map<number, string>()
  let offset = 0
  while (offset < body.length && body[offset] !== 0) {
    const end = body.indexOf(0, offset + 1)
    if (end === -1) break
    fields.set(body[offset] as number, body.toString('utf8', offset + 1, end))
    offset = end + 1
  }
  return Object.assign(new Error(fields.get(FIELD_MESSAGE) ?? 'The server refused the sign-in.'), {
    name: 'PostgresError',
    code: fields.get(FIELD_CODE),
  })
}
