import { connect as dial } from 'node:net'
import { type ConnectionOptions, connect as startTls, type TLSSocket } from 'node:tls'

/** Where and how to dial one connection. */
export interface SecureDialOptions {
  host: string
  port: number
  tls: ConnectionOptions
  /** postgres.js's `sslnegotiation`: 'direct' starts TLS at once (PostgreSQL 17+), otherwise after an SSLRequest. */
  negotiation: unknown
  timeoutMs: number | undefined
}

/**
 * A socket secured for postgres.js, or why there is none: the server closed it unanswered, or an error (`answered`
 * when the server had said something).
 */
export type SecureDial = { socket: TLSSocket } | { silent: true } | { error: Error; answered: boolean }

// Int32 length 8, then the SSLRequest code 80877103.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])
// The server's answer: 'S' to go on with TLS.
const TLS_ACCEPTED = 0x53

/**
 * Dials the server and starts TLS on the socket, as postgres.js would with its `ssl` option: the adapter owns the
 * TLS socket, so it can read the server's answers to the sign-in (see `watchStartup`). The SSLRequest's answer is
 * awaited here, bounded by `timeoutMs`, since postgres.js starts its connect timer only after its `socket` factory.
 */
export function dialSecure({
  host,
  port,
  tls,
  negotiation,
  timeoutMs,
}: SecureDialOptions): Promise<SecureDial> {
  const raw = dial({ host, port })
  if (negotiation === 'direct') {
    return Promise.resolve({ socket: startTls({ ...tls, socket: raw, ALPNProtocols: ['postgresql'] }) })
  }
  raw.write(SSL_REQUEST)
  return new Promise((settle) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            done({ error: connectTimeout(host, port), answered: false })
            raw.destroy()
          }, timeoutMs)
    const onData = (answer: Buffer): void => {
      if (answer[0] === TLS_ACCEPTED) {
        done({ socket: startTls({ ...tls, socket: raw }) })
        return
      }
      done({ error: tlsRefused(host, port), answered: true })
      raw.destroy()
    }
    const onError = (error: Error): void => done({ error, answered: false })
    const onClose = (): void => done({ silent: true })
    function done(outcome: SecureDial): void {
      clearTimeout(timer)
      raw.off('data', onData).off('error', onError).off('close', onClose)
      settle(outcome)
    }
    raw.once('data', onData).once('error', onError).once('close', onClose)
  })
}

// As postgres.js words and codes its own connect timeout, so that it is classified the same.
function connectTimeout(host: string, port: number): Error {
  return Object.assign(new Error(`write CONNECT_TIMEOUT ${host}:${port}`), {
    code: 'CONNECT_TIMEOUT',
    errno: 'CONNECT_TIMEOUT',
    address: host,
    port,
  })
}

function tlsRefused(host: string, port: number): Error {
  return Object.assign(
    new Error(
      `The server at ${host}:${port} does not accept TLS, which IAM authentication requires: check that the host and port are those of the RDS or Aurora endpoint.`,
    ),
    { code: 'ERR_TLS_REFUSED' },
  )
}
