import type { Socket } from 'node:net'

/**
 * Joins an authenticated client to its upstream session: bytes both ways, nothing parsed. Each side's end is
 * passed on to the other, so a client that half-closes after a query still receives its result. When the
 * upstream session is over, the client connection is closed for good once the last bytes are out, as
 * PostgreSQL closes it; `destroy` tears both down.
 */
export function relay(client: Socket, upstream: Socket, destroy: () => void): void {
  client.pipe(upstream)
  upstream.pipe(client)
  upstream.once('end', () => client.once('finish', destroy))
  client.once('close', destroy)
}
