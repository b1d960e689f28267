import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ConnectionClosedError, InvalidLengthError, MessageReader } from './message-reader.js'

const LIMIT = 65_536

function passwordHeader(length: number): Buffer {
  const header = Buffer.alloc(5)
  header.write('p', 0, 'latin1')
  header.writeUInt32BE(length, 1)
  return header
}

describe('MessageReader', () => {
  it('stops reading the stream once it holds its limit, however much the client sends', () => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    const megabyte = Buffer.alloc(1 << 20)
    for (let i = 0; i < 10; i++) stream.write(megabyte)
    expect(stream.isPaused()).toBe(true)
    // One chunk past the limit at most; the rest stays in the stream's own bounded buffer or the kernel.
    expect(stream.readableLength).toBeGreaterThan(0)
    reader.release()
  })

  it('refuses a message longer than its limit from the header, before any of the body arrives', async () => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    stream.write(passwordHeader(10 << 20))
    expect(await reader.readMessageType()).toBe('p')
    await expect(reader.readMessageBody(65_535)).rejects.toThrow(InvalidLengthError)
  })

  it('reads a message of exactly the limit', async () => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    const body = Buffer.alloc(65_531, 0x61)
    stream.write(Buffer.concat([passwordHeader(65_535), body]))
    expect(await reader.readMessageType()).toBe('p')
    expect((await reader.readMessageBody(65_535)).equals(body)).toBe(true)
  })

  it('reads packets split into single bytes and packets that share a chunk', async () => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    const packet = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])
    for (const byte of packet) stream.write(Buffer.of(byte))
    expect(await reader.readStartupPacket()).toEqual(packet)
    stream.write(Buffer.concat([packet, packet]))
    expect(await reader.readStartupPacket()).toEqual(packet)
    expect(await reader.readStartupPacket()).toEqual(packet)
  })

  it.each([7, 10_001])('refuses a startup packet length of %i', async (length) => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    const header = Buffer.alloc(4)
    header.writeUInt32BE(length)
    stream.write(header)
    await expect(reader.readStartupPacket()).rejects.toThrow(InvalidLengthError)
  })

  it('says when the client left mid-packet', async () => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    stream.end(Buffer.from([0, 0, 0, 8, 0]))
    await expect(reader.readStartupPacket()).rejects.toThrow(ConnectionClosedError)
    expect(reader.clientLeft).toBe(true)
  })

  it('hands over what it buffered beyond the last packet', async () => {
    const stream = new PassThrough()
    const reader = new MessageReader(stream, LIMIT)
    stream.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47, 81, 0]))
    await reader.readStartupPacket()
    expect(reader.release()).toEqual(Buffer.from([81, 0]))
  })
})
