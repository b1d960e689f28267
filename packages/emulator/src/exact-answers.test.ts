import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Emulator } from './start-emulator.js'
import {
  clientConfig,
  connectError,
  signToken,
  startTestEmulator,
  uniqueName,
} from './testing/emulator-fixtures.js'
import {
  type BackendMessage,
  dialEmulator,
  dialEmulatorTls,
  hasMessage,
  inbox,
  parseBackendMessages,
  passwordMessage,
  queryMessage,
  receiveUntilClosed,
  SSL_REQUEST,
  startupMessage,
  typedMessage,
  untypedPacket,
} from './testing/wire-client.js'

// What PostgreSQL 15 answers in each case was recorded from a real PostgreSQL 15.18 with the same inputs.
const user = uniqueName('answers_user')
const passwordUser = uniqueName('answers_pw')
const PROTOCOL_3_0 = 0x0003_0000
let emulator: Emulator

beforeAll(async () => {
  emulator = await startTestEmulator()
  await emulator.createIamUser(user)
  await emulator.createPasswordUser(passwordUser, 'a password')
})

afterAll(() => emulator?.close())

const errorFields = (message: BackendMessage | undefined): [string, string][] | undefined => message?.fields

/**
 * Sends a startup packet over a fresh TLS connection, then (after the password request) `afterRequest`, and
 * returns every message until the emulator closes the connection.
 */
async function exchange(startup: Buffer, afterRequest?: Buffer): Promise<BackendMessage[]> {
  const secure = await dialEmulatorTls(emulator)
  const received = inbox(secure)
  secure.write(startup)
  if (afterRequest) {
    await received.until(hasMessage('R'))
    secure.write(afterRequest)
  }
  return parseBackendMessages(await received.closed())
}

const passwordRequest = expect.objectContaining({ type: 'R', body: Buffer.from([0, 0, 0, 3]) })

describe('answers to a PasswordMessage, as PostgreSQL sends them', () => {
  const startup = startupMessage({ user, database: 'postgres' })

  it('an empty password: 28P01 from recv_password_packet', async () => {
    const messages = await exchange(startup, passwordMessage(''))
    expect(errorFields(messages.at(-1))).toEqual([
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '28P01'],
      ['M', 'empty password returned by client'],
      ['F', 'auth.c'],
      ['L', '757'],
      ['R', 'recv_password_packet'],
    ])
    expect(emulator.events).toContainEqual(
      expect.objectContaining({ reason: 'malformed', detail: 'empty password' }),
    )
  })

  it('a refused token: 28000 PAM failure from auth_failed, as node-postgres reads it', async () => {
    const error = await connectError(clientConfig(emulator, user, 'not-a-token'))
    expect({ ...error }).toMatchObject({
      severity: 'FATAL',
      code: '28000',
      file: 'auth.c',
      line: '334',
      routine: 'auth_failed',
    })
  })

  it('another message type: 08P01 naming the type byte', async () => {
    const messages = await exchange(startup, queryMessage('SELECT 1'))
    expect(errorFields(messages.at(-1))).toContainEqual([
      'M',
      'expected password response, got message type 81',
    ])
    expect(errorFields(messages.at(-1))).toContainEqual(['C', '08P01'])
  })

  it.each([
    ['without its NUL', typedMessage('p', Buffer.from('abc'))],
    ['with a NUL inside', typedMessage('p', Buffer.from('a\0b\0'))],
  ])('a password %s: 08P01 invalid password packet size', async (_, packet) => {
    const messages = await exchange(startup, packet)
    expect(errorFields(messages.at(-1))).toContainEqual(['M', 'invalid password packet size'])
  })

  it('a PasswordMessage longer than 65535 bytes: closed without an answer, before its body is read', async () => {
    const header = Buffer.from([0x70, 0, 0xa0, 0, 0]) // 'p', a length of 10 MB
    const messages = await exchange(startup, header)
    expect(messages).toEqual([passwordRequest])
  })
})

describe('answers to the startup message, in PostgreSQL order', () => {
  it('protocol 3.1 with protocol options: NegotiateProtocolVersion, then the password request', async () => {
    const secure = await dialEmulatorTls(emulator)
    try {
      const received = inbox(secure)
      secure.write(startupMessage({ user, database: 'postgres', '_pq_.compression': 'on' }, 3, 1))
      const opening = await received.until((messages) => messages.length === 2)
      const [negotiation, request] = opening
      expect(negotiation?.type).toBe('v')
      expect(negotiation?.body.readUInt32BE(0)).toBe(PROTOCOL_3_0)
      expect(negotiation?.body.readUInt32BE(4)).toBe(1)
      expect(negotiation?.body.toString('utf8', 8)).toBe('_pq_.compression\0')
      expect(request).toEqual(passwordRequest)
      // The upstream session is opened as 3.0, so the client is not told twice.
      secure.write(passwordMessage(await signToken(emulator, user)))
      const session = await received.until(hasMessage('Z'))
      expect(session.slice(2).filter((message) => message.type === 'v')).toEqual([])
      expect(session[2]).toEqual(expect.objectContaining({ type: 'R', body: Buffer.from([0, 0, 0, 0]) }))
    } finally {
      secure.destroy()
    }
  })

  it('protocol 3.1 without a user: NegotiateProtocolVersion, then 28000 from ProcessStartupPacket', async () => {
    const messages = await exchange(startupMessage({ database: 'postgres' }, 3, 1))
    expect(messages.map((message) => message.type)).toEqual(['v', 'E'])
    expect(errorFields(messages[1])).toEqual([
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '28000'],
      ['M', 'no PostgreSQL user name specified in startup packet'],
      ['F', 'postmaster.c'],
      ['L', '2351'],
      ['R', 'ProcessStartupPacket'],
    ])
  })

  it('protocol 4.0: 0A000 before anything else is read', async () => {
    const messages = await exchange(startupMessage({ user }, 4, 0))
    expect(errorFields(messages[0])).toContainEqual([
      'M',
      'unsupported frontend protocol 4.0: server supports 3.0 to 3.0',
    ])
  })

  it('protocol 2.0: the refusal in the old format', async () => {
    const socket = await dialEmulator(emulator)
    const received = receiveUntilClosed(socket)
    socket.write(startupMessage({ user }, 2, 0))
    expect((await received).toString('latin1')).toBe(
      'EFATAL:  unsupported frontend protocol 2.0: server supports 3.0 to 3.0\n\0',
    )
  })

  it('a second SSLRequest is read as protocol 1234.5679', async () => {
    const messages = await exchange(untypedPacket(SSL_REQUEST))
    expect(errorFields(messages[0])).toContainEqual([
      'M',
      'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0',
    ])
  })

  it('parameters that do not end at the last byte: 08P01 invalid startup packet layout', async () => {
    const unterminated = untypedPacket(PROTOCOL_3_0, Buffer.from(`user\0${user}\0`))
    const messages = await exchange(unterminated)
    expect(errorFields(messages[0])).toContainEqual([
      'M',
      'invalid startup packet layout: expected terminator as last byte',
    ])
  })

  it.each([
    ['shorter than 8 bytes', Buffer.from([0, 0, 0, 4, 0, 3, 0, 0])],
    ['longer than 10000 bytes', Buffer.from([0, 0, 0x4e, 0x21, 0, 3, 0, 0])],
    ['a CancelRequest of the wrong size', untypedPacket(80_877_102, Buffer.alloc(4))],
  ])('a startup packet %s: closed without an answer', async (_, packet) => {
    const socket = await dialEmulator(emulator)
    const received = receiveUntilClosed(socket)
    socket.write(packet)
    expect((await received).length).toBe(0)
  })
})

describe('TLS for every user (rds.force_ssl=1)', () => {
  // What a plaintext startup gets, byte for byte: PostgreSQL's own answer when no pg_hba.conf line takes it.
  async function plaintextAnswer(
    server: { host: string; port: number },
    login: string,
    database: string,
  ): Promise<Buffer> {
    const socket = await dialEmulator(server)
    const received = receiveUntilClosed(socket)
    socket.write(startupMessage({ user: login, database }))
    return received
  }

  it.each([
    ['a password user', passwordUser, 'postgres'],
    ['an IAM user', user, 'postgres'],
    ['a 70-byte user and database, named by their first 63 bytes', 'u'.repeat(70), 'd'.repeat(70)],
    ['a user cut inside a character, with its lone first byte', `${'u'.repeat(62)}éé`, 'postgres'],
  ])(
    'answers %s without TLS as RDS for PostgreSQL 15+ does: no pg_hba.conf entry, as PostgreSQL sends it',
    async (_, login, database) => {
      const upstream = inject('postgres')
      // The run's PostgreSQL has only hostssl lines, as rds.force_ssl=1 makes RDS's.
      const expected = await plaintextAnswer({ host: '127.0.0.1', port: upstream.port }, login, database)
      expect(errorFields(parseBackendMessages(expected)[0])).toContainEqual(['C', '28000'])
      const answer = await plaintextAnswer(emulator, login, database)
      expect(answer.toString('hex')).toBe(expected.toString('hex'))
    },
  )

  it('names the user and database of the refusal as PostgreSQL keeps them, in its message and its event', async () => {
    const config = { ...clientConfig(emulator, 'v'.repeat(70), 'x'), database: 'w'.repeat(70), ssl: false }
    const error = await connectError(config)
    expect(error.message).toBe(
      `no pg_hba.conf entry for host "127.0.0.1", user "${'v'.repeat(63)}", database "${'w'.repeat(63)}", no encryption`,
    )
    expect(emulator.events).toContainEqual(
      expect.objectContaining({
        type: 'auth-rejected',
        user: 'v'.repeat(63),
        database: 'w'.repeat(63),
        reason: 'no-encryption',
      }),
    )
  })

  it('lets a password user in without TLS when forceSsl is false, and never an IAM user', async () => {
    const lenient = await startTestEmulator({ forceSsl: false })
    try {
      const client = await import('pg').then(
        ({ default: pg }) =>
          new pg.Client({ ...clientConfig(lenient, passwordUser, 'a password'), ssl: false }),
      )
      await client.connect()
      expect((await client.query('SELECT current_user AS who')).rows).toEqual([{ who: passwordUser }])
      await client.end()
      const token = await signToken(lenient, user)
      const error = await connectError({ ...clientConfig(lenient, user, token), ssl: false })
      expect(error.message).toMatch(/^pg_hba.conf rejects connection .* no encryption$/)
    } finally {
      await lenient.close()
    }
  })
})
