import { once } from 'node:events'
import { connect as dialTls } from 'node:tls'
import type pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from './start-emulator.js'
import {
  connect,
  expectConnects,
  signToken,
  startTestEmulator,
  uniqueName,
  waitForActiveQuery,
} from './testing/emulator-fixtures.js'
import {
  dialEmulator,
  GSSENC_REQUEST,
  readBytes,
  SSL_REQUEST,
  startupMessage,
  untypedPacket,
} from './testing/wire-client.js'

const user = uniqueName('session_user')
let emulator: Emulator
let token: string

beforeAll(async () => {
  emulator = await startTestEmulator()
  await emulator.createIamUser(user)
  token = await signToken(emulator, user)
})

afterAll(() => emulator?.close())

/** Resolves when the client's connection is gone, whichever way it noticed. */
function closed(client: pg.Client): Promise<unknown> {
  return new Promise((resolve) => {
    client.once('error', resolve)
    client.once('end', resolve)
  })
}

describe('an authenticated session', () => {
  it('runs transactions', async () => {
    const client = await connect(emulator, user, token)
    try {
      await client.query('BEGIN')
      await client.query('CREATE TEMP TABLE items (id int)')
      await client.query('INSERT INTO items SELECT generate_series(1, 100)')
      await client.query('ROLLBACK')
      await expect(client.query('SELECT * FROM items')).rejects.toThrow(/does not exist/)
    } finally {
      await client.end()
    }
  })

  it('delivers LISTEN/NOTIFY', async () => {
    const listener = await connect(emulator, user, token)
    const notifier = await connect(emulator, user, token)
    try {
      await listener.query('LISTEN emulator_channel')
      const notification = once(listener, 'notification')
      await notifier.query("NOTIFY emulator_channel, 'hello'")
      const [message] = (await notification) as [pg.Notification]
      expect(message).toMatchObject({ channel: 'emulator_channel', payload: 'hello' })
    } finally {
      await Promise.all([listener.end(), notifier.end()])
    }
  })

  it('forwards a CancelRequest to the upstream backend', async () => {
    // postgres.js sends its CancelRequest over TLS, as libpq 17 does; psql.test.ts covers the plaintext one.
    const sql = postgres({
      host: emulator.host,
      port: emulator.port,
      user,
      pass: token,
      database: 'postgres',
      ssl: { ca: emulator.ca, servername: emulator.endpoint },
      max: 1,
    })
    try {
      const sleep = sql`SELECT pg_sleep(60)`.execute()
      await waitForActiveQuery(emulator, user, 'pg_sleep(60)')
      await sleep.cancel()
      await expect(sleep).rejects.toThrow('canceling statement due to user request')
      await emulator.waitForEvent((event) => event.type === 'cancel-forwarded')
      expect(await sql`SELECT 1 AS alive`).toEqual([{ alive: 1 }])
    } finally {
      await sql.end()
    }
  })

  it('serves 50 concurrent connections', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(emulator, user, token)))
    try {
      const results = await Promise.all(clients.map((client, i) => client.query('SELECT $1::int AS n', [i])))
      expect(results.map((result) => result.rows[0]?.n)).toEqual(clients.map((_, i) => i))
    } finally {
      await Promise.all(clients.map((client) => client.end()))
    }
  })
})

describe('failures on demand', () => {
  it('dropConnections closes every session, and new ones still connect', async () => {
    const clients = await Promise.all([connect(emulator, user, token), connect(emulator, user, token)])
    const gone = clients.map(closed)
    emulator.dropConnections()
    await Promise.all(gone)
    await expectConnects(emulator, user, token)
  })

  it('restart drops sessions and listens again on the same port', async () => {
    const port = emulator.port
    const old = await connect(emulator, user, token)
    const gone = closed(old)
    await emulator.restart()
    await gone
    await expect(old.query('SELECT 1')).rejects.toThrow()
    expect(emulator.port).toBe(port)
    await emulator.waitForEvent((event) => event.type === 'restarted')
    await expectConnects(emulator, user, token)
  })
})

describe('the wire protocol before authentication', () => {
  it('answers GSSENCRequest with N, then SSLRequest with S, then asks an IAM user for a cleartext password', async () => {
    const socket = await dialEmulator(emulator)
    try {
      socket.write(untypedPacket(GSSENC_REQUEST))
      expect((await readBytes(socket, 1)).toString()).toBe('N')
      socket.write(untypedPacket(SSL_REQUEST))
      expect((await readBytes(socket, 1)).toString()).toBe('S')
      const secure = dialTls({ socket, ca: emulator.ca, servername: emulator.endpoint })
      await once(secure, 'secureConnect')
      expect(secure.authorized).toBe(true)
      secure.write(startupMessage({ user, database: 'postgres' }))
      const request = await readBytes(secure, 9)
      expect(request.toString('latin1', 0, 1)).toBe('R')
      expect(request.readUInt32BE(5)).toBe(3)
      secure.destroy()
    } finally {
      socket.destroy()
    }
  })

  it('refuses plaintext sent after an SSLRequest, before the handshake', async () => {
    const socket = await dialEmulator(emulator)
    try {
      socket.write(Buffer.concat([untypedPacket(SSL_REQUEST), startupMessage({ user })]))
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => chunks.push(chunk))
      await once(socket, 'close')
      const answer = Buffer.concat(chunks).toString('latin1')
      expect(answer.startsWith('E')).toBe(true)
      expect(answer).toContain('C08P01\0')
      expect(answer).toContain('received unencrypted data after SSL request')
    } finally {
      socket.destroy()
    }
  })
})
