import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { connect as connectTls, type SecureContext } from 'node:tls'

// SSLRequest: length 8, code 1234.5679.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/**
 * Opens a TLS connection to PostgreSQL over TCP as libpq does: an SSLRequest, the server's 'S', then the
 * handshake, verifying the server's certificate for `host` against the CA in `secureContext`.
 */
export async function connectPostgresTls(
  host: string,
  port: number,
  secureContext: SecureContext,
): Promise<Socket> {
  const socket = connect(port, host)
  socket.setNoDelay(true)
  try {
    await once(socket, 'connect')
    socket.write(SSL_REQUEST)
    const [answer] = (await once(socket, 'data')) as [Buffer]
    if (answer.toString('latin1') !== 'S') throw new Error('the upstream PostgreSQL does not accept TLS')
    const secure = connectTls({ socket, host, secureContext })
    await once(secure, 'secureConnect')
    // A reset of the TCP connection under TLS reaches whoever handles the TLS socket's errors.
    socket.on('error', (error) => secure.destroy(error))
    return secure
  } catch (error) {
    socket.destroy()
    throw error
  }
}
