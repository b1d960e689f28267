import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EmulatorPolicy } from './authenticator.js'
import type { EmulatorEvent } from './events.js'
import { type PostgresServer, startPostgres } from './postgres-server.js'
import { type Emulator, startEmulator } from './start-emulator.js'
import { clientConfig, connect, connectError, signToken, uniqueName } from './testing/emulator-fixtures.js'

// PostgreSQL cuts a startup packet's user name to its first 63 bytes (NAMEDATALEN - 1) before it authenticates,
// inside a character if one is there, while CREATE ROLE cuts at a character boundary. On RDS the token must
// therefore name the role the session becomes. Both modes are checked against a real PostgreSQL here.
const bytes = (name: string): number => Buffer.byteLength(name)
const first63 = (name: string): string => Buffer.from(name).subarray(0, 63).toString('utf8')

const prefix = uniqueName('long') // 13 bytes
const long70 = `${prefix}_${'x'.repeat(56)}`
const role63 = first63(long70)
// Byte 63 is the first byte of an é: the startup name keeps it alone, the role ends one character earlier.
const cutInside = `${prefix}_${'é'.repeat(28)}`
const cutInsideRole = `${prefix}_${'é'.repeat(24)}`
// Byte 63 ends an é: the startup name and the role are the same 63 bytes.
const cutBetween = `${prefix}_a${'é'.repeat(28)}`
const cutBetweenRole = `${prefix}_a${'é'.repeat(24)}`
const forbidden = `${prefix}_forbidden_${'y'.repeat(40)}`
const forbiddenRole = first63(forbidden)

let postgres: PostgresServer

beforeAll(async () => {
  // A direct emulator takes its PostgreSQL over, so this file has one of its own for both modes.
  postgres = await startPostgres()
})
afterAll(() => postgres?.stop())

it('names its users as the test means them', () => {
  expect([bytes(long70), bytes(role63), bytes(cutInside), bytes(cutBetween)]).toEqual([70, 63, 70, 71])
  expect([bytes(cutInsideRole), bytes(cutBetweenRole)]).toEqual([62, 63])
  expect(first63(cutInside)).toBe(`${cutInsideRole}\ufffd`)
  expect(first63(cutBetween)).toBe(cutBetweenRole)
})

describe.each([
  ['the relay', false],
  ['direct mode', true],
])('user names of 64 bytes or more, through %s', (_, direct) => {
  let emulator: Emulator
  const policyUsers: string[] = []
  const policy: EmulatorPolicy = ({ user }) => {
    policyUsers.push(user)
    return user !== forbiddenRole
  }

  beforeAll(async () => {
    emulator = await startEmulator({ upstream: postgres, direct, policy })
    // CREATE ROLE cuts as the name type does, so each role is the name its login will have.
    for (const name of [long70, cutInside, cutBetween, forbidden]) await emulator.createIamUser(name)
  })
  afterAll(() => emulator?.close())

  // The user a session signed in with `token` (signed for `signedFor`) and the startup user `sentAs` becomes.
  async function signedInAs(sentAs: string, signedFor: string): Promise<string> {
    const client = await connect(emulator, sentAs, await signToken(emulator, signedFor))
    try {
      const { rows } = await client.query<{ current_user: string }>('SELECT current_user')
      return rows[0]!.current_user
    } finally {
      await client.end()
    }
  }

  async function refusal(sentAs: string, signedFor: string): Promise<{ code?: string; message: string }> {
    const token = await signToken(emulator, signedFor)
    const { code, message } = await connectError(clientConfig(emulator, sentAs, token))
    return { code, message }
  }

  const lastEvent = (): EmulatorEvent | undefined =>
    emulator.events.findLast((event) => event.type === 'auth-accepted' || event.type === 'auth-rejected')

  it('signs a 70-byte startup user in as its 63-byte role with a token for that role', async () => {
    expect(await signedInAs(long70, role63)).toBe(role63)
    expect(lastEvent()).toMatchObject({ type: 'auth-accepted', user: role63 })
    expect(await signedInAs(role63, role63)).toBe(role63)
  })

  it('refuses a token for the 70-byte name, which is no role PostgreSQL signs in as', async () => {
    const rejected = direct ? 'LDAP authentication failed' : 'PAM authentication failed'
    for (const sentAs of [long70, role63]) {
      expect(await refusal(sentAs, long70)).toEqual({
        code: '28000',
        message: `${rejected} for user "${role63}"`,
      })
      expect(lastEvent()).toMatchObject({ type: 'auth-rejected', user: role63, reason: 'user-mismatch' })
    }
  })

  it('hands the policy the 63-byte role, so a policy that forbids it stops the long name too', async () => {
    policyUsers.length = 0
    await expect(refusal(forbidden, forbiddenRole)).resolves.toMatchObject({ code: '28000' })
    expect(policyUsers).toEqual([forbiddenRole])
    expect(lastEvent()).toMatchObject({ type: 'auth-rejected', user: forbiddenRole, reason: 'policy' })
  })

  it('cuts a multi-byte name between characters to the same role, and signs in as it', async () => {
    expect(await signedInAs(cutBetween, cutBetweenRole)).toBe(cutBetweenRole)
    expect((await refusal(cutBetween, cutBetween)).code).toBe('28000')
  })

  it('signs no one in with a name cut inside a character: no role has its 63 bytes', async () => {
    // PostgreSQL finds no role for the lone first byte and asks for a password, as for any unknown user.
    for (const signedFor of [cutInside, cutInsideRole]) {
      expect(await refusal(cutInside, signedFor)).toEqual({
        code: '28P01',
        message: `password authentication failed for user "${cutInsideRole}\ufffd"`,
      })
    }
    expect(await signedInAs(cutInsideRole, cutInsideRole)).toBe(cutInsideRole)
  })
})
