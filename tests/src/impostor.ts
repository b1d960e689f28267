import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { createServerCertificates } from '@rds-iam/emulator'

/** A server that answers the SSLRequest like Postgres and presents a certificate the client must refuse. */
export interface Impostor {
  port: number
  /** The CA that signed the impostor's certificate. */
  ca: string
  /** Bytes the client sent after the TLS handshake: a password message would land here. */
  bytesAfterHandshake(): number
  handshakes(): number
  close(): Promise<void>
}

// The 8-byte SSLRequest every Postgres client sends before TLS: length 8, code 80877103.
const SSL_REQUEST_LENGTH = 8

/**
 * @param hosts the names the impostor's certificate claims; its CA is its own unless the client is told to trust it
 */
export async function startImpostor(hosts: string[]): Promise<Impostor> {
  const { ca, cert, key } = await createServerCertificates({ hosts })
  let received = 0
  let handshakes = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.once('readable', () => {
      socket.read(SSL_REQUEST_LENGTH)
      socket.write('S')
      const secure = new TLSSocket(socket, { isServer: true, cert, key })
      secure.on('secure', () => handshakes++)
      secure.on('data', (chunk: Buffer) => {
        received += chunk.length
      })
      secure.on('error', () => {})
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    ca,
    bytesAfterHandshake: () => received,
    handshakes: () => handshakes,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}
