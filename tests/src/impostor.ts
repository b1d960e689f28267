import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { createServerCertificates, type ServerCertificates } from '@rds-iam/emulator'

/** A server that answers the SSLRequest like Postgres and presents a certificate the client must refuse. */
export interface Impostor {
  port: number
  /** The CA that signed the impostor's certificate. */
  ca: string
  /** Bytes the client sent after the TLS handshake: a password message would land here. */
  bytesAfterHandshake(): number
  handshakes(): number
  /** TCP connections it accepted. */
  connections(): number
  close(): Promise<void>
}

// The 8-byte SSLRequest every Postgres client sends before TLS: length 8, code 80877103.
const SSL_REQUEST_LENGTH = 8

/**
 * @param hosts the names the impostor's certificate claims; its CA is its own unless the client is told to trust it
 * @param certificates what it presents instead of a certificate made for `hosts` (e.g. a revoked one)
 */
export async function startImpostor(hosts: string[], certificates?: ServerCertificates): Promise<Impostor> {
  const { ca, cert, key } = certificates ?? (await createServerCertificates({ hosts }))
  let received = 0
  let handshakes = 0
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    connections++
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
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}
