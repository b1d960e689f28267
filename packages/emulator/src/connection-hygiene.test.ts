import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from './start-emulator.js'
import { signToken, startTestEmulator, uniqueName } from './testing/emulator-fixtures.js'
import {
  dialHoldingClient,
  openLogin,
  openSession,
  parseBackendMessages,
  passwordMessage,
  queryMessage,
  startupMessage,
} from './testing/wire-client.js'

const user = uniqueName('hygiene_user')
let emulator: Emulator

beforeAll(async () => {
  emulator = await startTestEmulator({ authenticationTimeoutMs: 500 })
  await emulator.createIamUser(user)
})

afterAll(() => emulator?.close())

describe('after a refusal', () => {
  it('reads nothing more and closes, however much the client keeps sending', async () => {
    // An IAM user without TLS is refused at once; the client floods on and never ends its side.
    const { socket, closedByServer } = await dialHoldingClient(emulator)
    socket.write(startupMessage({ user, database: 'postgres' }))
    const junk = Buffer.alloc(64 * 1024, 0x41)
    const flood = setInterval(() => socket.writable && socket.write(junk), 1)
    try {
      // Closing with the flood unread makes the kernel send a reset, which may discard the refusal before
      // the client reads it (PostgreSQL's exit does the same); what matters is that the connection ends.
      const messages = parseBackendMessages(await closedByServer())
      expect(['E'].slice(0, messages.length)).toEqual(messages.map((message) => message.type))
    } finally {
      clearInterval(flood)
      socket.destroy()
    }
  })

  it('closes the connection of a client that keeps its side open', async () => {
    // An IAM user without TLS is refused; the client never ends its side.
    const { socket, closedByServer } = await dialHoldingClient(emulator)
    socket.write(startupMessage({ user, database: 'postgres' }))
    const messages = parseBackendMessages(await closedByServer())
    expect(messages.map((message) => message.type)).toEqual(['E'])
    socket.destroy()
  })
})

describe('the authentication timeout', () => {
  it.each([
    ['sends nothing', []],
    ['stops after its startup message', [startupMessage({ user, database: 'postgres' }).subarray(0, 12)]],
  ])('closes, without an answer, the connection of a client that %s', async (_, packets) => {
    const { socket, closedByServer } = await dialHoldingClient(emulator)
    for (const packet of packets) socket.write(packet)
    expect((await closedByServer()).length).toBe(0)
    socket.destroy()
  })
})

describe('a client that leaves', () => {
  it('during a delayed login gets no session and is not counted as accepted', async () => {
    emulator.delayAuth(300)
    try {
      const { socket } = await openLogin(emulator, user)
      socket.end(passwordMessage(await signToken(emulator, user)))
      await emulator.waitForEvent((event) => event.type === 'client-left' && event.user === user)
      expect(emulator.events.filter((event) => event.type === 'auth-accepted')).toEqual([])
      expect(emulator.stats().accepted).toBe(0)
    } finally {
      emulator.delayAuth(0)
    }
  })

  it('by half-closing after a query still receives the whole result', async () => {
    const { socket, received } = await openSession(emulator, user, await signToken(emulator, user))
    socket.end(queryMessage("SELECT pg_sleep(0.3), 'still here' AS answer"))
    const messages = parseBackendMessages(await received.closed())
    const row = messages.find((message) => message.type === 'D')
    expect(row?.body.toString('utf8')).toContain('still here')
    expect(messages.at(-1)?.type).toBe('Z')
  })
})
