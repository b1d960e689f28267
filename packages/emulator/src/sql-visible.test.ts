import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from './start-emulator.js'
import { connect, signToken, startTestEmulator, uniqueName } from './testing/emulator-fixtures.js'

const iamUser = uniqueName('visible_iam')
const passwordUser = uniqueName('visible_pw')
const started: Emulator[] = []

async function start(upstreamTls?: boolean): Promise<Emulator> {
  const emulator = await startTestEmulator(upstreamTls === undefined ? {} : { upstreamTls })
  started.push(emulator)
  return emulator
}

beforeAll(async () => {
  const emulator = await start()
  await emulator.createIamUser(iamUser)
  await emulator.createPasswordUser(passwordUser, 'visible password')
})

afterAll(() => Promise.all(started.map((emulator) => emulator.close())))

const WHAT_SQL_SEES = `SELECT ssl, inet_client_addr()::text AS address FROM pg_stat_ssl WHERE pid = pg_backend_pid()`

async function seenBy(emulator: Emulator, user: string, password: string): Promise<unknown> {
  const client = await connect(emulator, user, password)
  try {
    return (await client.query(WHAT_SQL_SEES)).rows[0]
  } finally {
    await client.end()
  }
}

describe('what SQL sees of a session', () => {
  it('an IAM user: an encrypted session from 127.0.0.1, as on RDS', async () => {
    const [emulator] = started
    expect(await seenBy(emulator!, iamUser, await signToken(emulator!, iamUser))).toEqual({
      ssl: true,
      address: '127.0.0.1/32',
    })
  })

  it('an IAM user with upstreamTls: false: the unix socket', async () => {
    const emulator = await start(false)
    expect(await seenBy(emulator, iamUser, await signToken(emulator, iamUser))).toEqual({
      ssl: false,
      address: null,
    })
  })

  it('a password user: the unix socket, since SCRAM channel binding cannot cross the emulator', async () => {
    const [emulator] = started
    expect(await seenBy(emulator!, passwordUser, 'visible password')).toEqual({ ssl: false, address: null })
  })
})
