import type { Readable } from 'node:stream'

// PostgreSQL's limit for the packets before authentication (MAX_STARTUP_PACKET_LENGTH).
const MAX_STARTUP_PACKET_BYTES = 10_000

/**
 * A length PostgreSQL refuses before it reads the packet (a startup packet outside 8–10000 bytes, a message
 * longer than the limit of its stage). PostgreSQL only logs these and closes the connection without an answer.
 */
export class InvalidLengthError extends Error {
  override readonly name = 'InvalidLengthError'
}

/** The client went away while a packet was awaited; nothing is left to answer. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError'
}

/**
 * Reads length-prefixed packets from a stream as they arrive, so the connection can be inspected until
 * authentication is done, then handed over whole (with anything already received) to a pipe.
 *
 * It never holds much more than the largest packet it may be asked for: beyond `maxBufferedBytes` it stops
 * reading the stream, and a length over its stage's limit is refused from the header, before any of the body
 * is buffered.
 */
export class MessageReader {
  private buffered: Buffer = Buffer.alloc(0)
  private ended = false
  private wake: (() => void) | undefined

  constructor(
    private readonly stream: Readable,
    private readonly maxBufferedBytes: number,
  ) {
    stream.on('data', this.onData)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
  }

  /** True once the client ended its side or the connection closed. */
  get clientLeft(): boolean {
    return this.ended
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    if (this.buffered.length >= this.maxBufferedBytes) this.stream.pause()
    this.wake?.()
  }

  private readonly onEnd = (): void => {
    this.ended = true
    this.wake?.()
  }

  private async take(length: number): Promise<Buffer> {
    while (this.buffered.length < length) {
      if (this.ended) throw new ConnectionClosedError('connection closed by the client')
      this.stream.resume()
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      this.wake = undefined
    }
    const taken = this.buffered.subarray(0, length)
    this.buffered = this.buffered.subarray(length)
    return taken
  }

  private async peekLength(offset: number): Promise<number> {
    const header = await this.take(offset + 4)
    this.buffered = Buffer.concat([header, this.buffered])
    return header.readUInt32BE(offset)
  }

  /** Reads one untyped packet (SSLRequest, GSSENCRequest, CancelRequest or StartupMessage), length included. */
  async readStartupPacket(): Promise<Buffer> {
    const length = await this.peekLength(0)
    if (length < 8 || length > MAX_STARTUP_PACKET_BYTES) {
      throw new InvalidLengthError('invalid length of startup packet')
    }
    return this.take(length)
  }

  /** Reads the type byte of the next message; its length is read separately, as PostgreSQL does. */
  async readMessageType(): Promise<string> {
    const [type] = await this.take(1)
    return String.fromCharCode(type!)
  }

  /**
   * Reads the rest of a message whose type was read: a length word (which counts itself) of at most
   * `maxLength`, as PostgreSQL's `pq_getmessage` checks it, then the body.
   */
  async readMessageBody(maxLength: number): Promise<Buffer> {
    const length = await this.peekLength(0)
    if (length < 4 || length > maxLength) throw new InvalidLengthError('invalid message length')
    return (await this.take(length)).subarray(4)
  }

  /** Stops reading and returns what was received but not read yet; the stream is left paused. */
  release(): Buffer {
    this.stream.pause()
    this.stream.off('data', this.onData)
    this.stream.off('end', this.onEnd)
    this.stream.off('close', this.onEnd)
    const rest = this.buffered
    this.buffered = Buffer.alloc(0)
    return rest
  }
}
