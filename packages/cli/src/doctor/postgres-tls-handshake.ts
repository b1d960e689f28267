import { connect as dial } from 'node:net'
import { type ConnectionOptions, connect as startTls, type TLSSocket } from 'node:tls'

// PostgreSQL's SSLRequest: length 8, then the request code 1234.5679.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])

/**
 * Asks a PostgreSQL server for TLS and completes the handshake without rejecting the certificate, so the caller
 * can say what was wrong with it: `authorized` and `authorizationError` hold the verdict under `options`. A
 * server silent for `timeoutMs` fails it with ETIMEDOUT, and its socket is closed.
 */
export async function postgresTlsHandshake(
  host: string,
  port: number,
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<TLSSocket> {
  const socket = dial({ host, port })
  socket.setTimeout(timeoutMs, () => {
    socket.destroy(
      Object.assign(new Error(`the TLS handshake timed out after ${timeoutMs / 1000} s`), {
        code: 'ETIMEDOUT',
      }),
    )
  })
  try {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      socket.once('error', reject)
      socket.once('connect', () => socket.write(SSL_REQUEST))
      socket.once('data', resolve)
      socket.once('end', () => reject(new Error('the server closed the connection after the TLS request')))
    })
    if (answer.toString('latin1', 0, 1) !== 'S') {
      throw Object.assign(new Error('the server does not offer TLS (it answered the TLS request with "N")'), {
        code: 'NO_TLS',
      })
    }
    const secure = startTls({ ...options, socket, rejectUnauthorized: false })
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve)
      secure.once('error', reject)
      // The plain socket's failures (a timeout included) are not always re-emitted by the TLS socket.
      socket.once('error', reject)
      socket.once('close', () =>
        reject(new Error('the server closed the connection during the TLS handshake')),
      )
    })
    socket.setTimeout(0)
    return secure
  } catch (error) {
    socket.destroy()
    throw error
  }
}
