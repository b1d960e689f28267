import { Socket } from 'node:net'
import type { IamAuth } from '@rds-iam/core'
import {
  type SharedTls,
  type SignInAttempt,
  startConnectAttempt,
  type TrackedAttempt,
} from '@rds-iam/core/adapter'
import { dialSecure } from './secure-dial'
import { watchStartup } from './startup-watch'

/** What postgres.js settled after the factory was made and the factory reads at each connect. */
export interface ConnectSettings {
  timeoutMs: number | undefined
  /** postgres.js's `sslnegotiation`. */
  negotiation: unknown
}

interface Failed {
  error: unknown
  socket: Socket
}

/** What postgres.js gets for its `socket` and `pass` options: IAM work once per connection, none per query. */
export interface SocketFactory {
  /** postgres.js's `socket` option: a socket starting TLS once a token is ready, or one that fails. */
  open(): Promise<Socket>
  /** postgres.js's `pass` option, which it never lets fail: the token `open()` made, read back. */
  password(): string
  /**
   * For `sql.end()`: fails the connects waiting for AWS credentials now, and any that would wait from now on, and
   * resolves once their sockets closed. postgres.js's end waits for a connection that was connecting until its end
   * timeout, even after that connect failed, so it is called after this.
   */
  endWaiting(): Promise<void>
}

/**
 * Makes the token and the TLS socket for each new connection, bounded by the connect timeout of `settings()` (read
 * per connect, since postgres.js settles its options after the factory is made). The adapter starts TLS itself
 * (postgres.js gets `ssl: false` and a secured socket) so that, while OpenTelemetry records, it can see the server's
 * answer to the sign-in.
 */
export function createSocketFactory(
  auth: IamAuth,
  tls: SharedTls,
  settings: () => ConnectSettings,
): SocketFactory {
  // The token of the latest connect: a connection signing in after a newer connect sends that newer, valid one.
  let token = ''
  // postgres.js reconnects at once and without end when a server closes new connections before saying anything
  // (an endpoint refusing or failing over), restarting its connect timer each time: a streak of such closes is
  // paced and bounded by connect_timeout here. Any answer of the server (it asks for the password) ends it.
  let silentSince: number | undefined
  // The connects waiting for their token, each with what its sign-in settles to: nothing, or a failing socket.
  const waiting = new Map<TrackedAttempt, Promise<Failed | undefined>>()
  let ending = false

  // What the connect settles to while it waits for its token: nothing, or a failing socket and its error.
  async function signIn(tracked: TrackedAttempt): Promise<Failed | undefined> {
    try {
      const password = tracked.attempt.password()
      if (ending) tracked.abort()
      token = await password
      return undefined
    } catch (error) {
      return { error, socket: failedSocket(error) }
    }
  }

  // One connection's sign-in, from its token to the server's ReadyForQuery when traced; postgres.js gets its socket
  // from `handOver` as soon as TLS starts, and the rest of the sign-in is its own.
  async function connect(
    tracked: TrackedAttempt,
    traced: boolean,
    handOver: (socket: Socket) => void,
  ): Promise<void> {
    const signingIn = signIn(tracked)
    waiting.set(tracked, signingIn)
    const failed = await signingIn
    waiting.delete(tracked)
    if (failed) {
      silentSince = undefined
      handOver(failed.socket)
      throw failed.error
    }
    // Dialed here because postgres.js splits its host at ':', which turns '::1' into localhost.
    const dialed = await dialSecure({
      host: auth.host,
      port: auth.port,
      tls: tls.options,
      negotiation: settings().negotiation,
      timeoutMs: settings().timeoutMs,
    })
    if ('silent' in dialed) {
      silentSince ??= performance.now()
      handOver(closingSocket())
      throw Object.assign(new Error('The server closed the connection unanswered.'), {
        code: 'CONNECTION_CLOSED',
      })
    }
    if ('error' in dialed) {
      // A server that refused or timed out the dial said nothing either: the next dial waits a little too.
      silentSince = dialed.answered ? undefined : (silentSince ?? performance.now())
      handOver(failedSocket(dialed.error))
      throw dialed.error
    }
    handOver(dialed.socket)
    if (traced) await watchStartup(dialed.socket)
  }

  async function open(): Promise<Socket> {
    let tracked: SignInAttempt
    try {
      if (silentSince !== undefined) await pauseAfterSilentClose(silentSince, settings().timeoutMs)
      await tls.fill()
      // postgres.js starts its connect timer after this factory, so the timeout must also bound the provider.
      tracked = startConnectAttempt(auth, settings().timeoutMs)
    } catch (error) {
      silentSince = undefined
      return failedSocket(error)
    }
    return new Promise((resolve) => {
      let handedOver = false
      const handOver = (socket: Socket): void => {
        handedOver = true
        resolve(socket)
      }
      // Its failures reach postgres.js through the socket handed over; this is the sign-in's own record of them.
      tracked
        .signIn((traced) => connect(tracked, traced, handOver))
        .catch((error: unknown) => {
          if (!handedOver) handOver(failedSocket(error))
        })
    })
  }
  return {
    open,
    password() {
      silentSince = undefined
      return token
    },
    async endWaiting() {
      ending = true
      const aborted = [...waiting]
      for (const [tracked] of aborted) tracked.abort()
      await Promise.all(
        aborted.map(async ([, signingIn]) => {
          const failed = (await signingIn)?.socket
          // Not events.once, which rejects on the 'error' the socket emits first.
          if (failed && !failed.closed) await new Promise((resolve) => failed.once('close', resolve))
        }),
      )
    },
  }
}

// Waits a little before dialing again a server that just closed the last connection unanswered, and gives up once
// such closes have gone on for connect_timeout, as if one connect had lasted that long.
async function pauseAfterSilentClose(since: number, timeoutMs: number | undefined): Promise<void> {
  if (timeoutMs !== undefined && performance.now() - since >= timeoutMs) {
    throw Object.assign(
      new Error(`The server closed every new connection unanswered for ${timeoutMs} ms (connect_timeout).`),
      { code: 'CONNECT_TIMEOUT' },
    )
  }
  await new Promise((resolve) => setTimeout(resolve, SILENT_CLOSE_PAUSE_MS))
}

// Short next to any connect timeout, long enough that a refusing server costs a few dials a second, not thousands.
const SILENT_CLOSE_PAUSE_MS = 100

// postgres.js fails the waiting query with a socket's error and moves on to the next query, where a rejected
// socket factory would leave its connection stuck. The error answers postgres.js's first write, as a server's
// would: closed any earlier, before postgres.js flushed that write, the connection keeps a write pending forever
// and every later connect on it times out. Closing without `hadError` keeps its backoff for real outages.
function failedSocket(error: unknown): Socket {
  const socket = new Socket()
  socket.write = (() => {
    setImmediate(() => {
      socket.emit('error', error)
      socket.destroy()
    })
    return true
  }) as Socket['write']
  return socket
}

// What postgres.js gets for a server that closed the connection before answering: a socket that closes cleanly
// after postgres.js's first write (as `failedSocket`, and for the same reason), so that postgres.js dials again.
function closingSocket(): Socket {
  const socket = new Socket()
  socket.write = (() => {
    setImmediate(() => socket.destroy())
    return true
  }) as Socket['write']
  return socket
}
