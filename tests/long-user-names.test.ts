import { randomBytes } from 'node:crypto'
import { type Emulator, type PostgresServer, startEmulator, startPostgres } from '@rds-iam/emulator'
import { createClient, createPool, RdsIamError } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

// A startup user of 64 bytes or more signs in as the role of its first 63 bytes, on RDS before the token is
// checked: the adapters sign for that role, so a long name that works with a password works with IAM too.
const prefix = `long_${randomBytes(4).toString('hex')}`
const long70 = `${prefix}_${'x'.repeat(56)}`
const role63 = long70.slice(0, 63)
const multiByte = `${prefix}_a${'é'.repeat(28)}`
const multiByteRole = Buffer.from(multiByte).subarray(0, 63).toString('utf8')

describe.each([
  ['the relay', false],
  ['a direct emulator', true],
])('adapters with a user name over 63 bytes, through %s', (_, direct) => {
  let postgres: PostgresServer | undefined
  let emulator: Emulator

  beforeAll(async () => {
    // A direct emulator takes its PostgreSQL over, so it gets one of its own.
    postgres = direct ? await startPostgres() : undefined
    emulator = await startEmulator({ upstream: postgres ?? inject('postgres'), direct })
    await emulator.createIamUser(long70)
    await emulator.createIamUser(multiByte)
  })
  afterAll(async () => {
    await emulator?.close()
    await postgres?.stop()
  })

  it('@rds-iam/pg: a Client and a Pool given the 70-byte name sign in as its 63-byte role', async () => {
    const client = createClient(emulator.adapterOptions(long70))
    await client.connect()
    expect((await client.query('SELECT current_user AS who')).rows).toEqual([{ who: role63 }])
    await client.end()
    const pool = createPool(emulator.adapterOptions(multiByte))
    expect((await pool.query('SELECT current_user AS who')).rows).toEqual([{ who: multiByteRole }])
    await pool.end()
    expect(emulator.events).toContainEqual(expect.objectContaining({ type: 'auth-accepted', user: role63 }))
  })

  it('@rds-iam/postgres: the 70-byte name signs in as its 63-byte role', async () => {
    const sql = createSql(emulator.adapterOptions(long70))
    try {
      expect(await sql`SELECT current_user AS who`).toEqual([{ who: role63 }])
    } finally {
      await sql.end()
    }
  })

  it('refuses at creation a name whose 63rd byte is inside a character, which no role can match', () => {
    const cutInside = `${prefix}_${'é'.repeat(28)}`
    expect(() => createPool(emulator.adapterOptions(cutInside))).toThrow(RdsIamError)
  })
})
