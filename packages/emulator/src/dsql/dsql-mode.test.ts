import { Signer } from '@aws-sdk/rds-signer'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from '../start-emulator.js'
import {
  clientConfig,
  connect,
  connectError,
  expectConnects,
  signDsqlToken,
  startTestEmulator,
  uniqueName,
} from '../testing/emulator-fixtures.js'

const ACCESS_DENIED = 'unable to accept connection, access denied'
const role = uniqueName('dsql_role')
const unmapped = uniqueName('dsql_unmapped')
const denied = uniqueName('dsql_denied')
const other = { accessKeyId: 'AKIAOTHERKEYEXAMPLE1', secretAccessKey: 'other-secret' }
let emulator: Emulator

beforeAll(async () => {
  emulator = await startTestEmulator({
    target: 'dsql',
    credentials: [{ accessKeyId: 'AKIADSQLEMULATOR0001', secretAccessKey: 'dsql-secret' }, other],
    roleGrants: { [unmapped]: [other.accessKeyId] },
    policy: ({ user, action }) => !(user === denied && action === 'DbConnect'),
  })
  for (const name of [role, unmapped, denied]) await emulator.createIamUser(name)
})

afterAll(() => emulator?.close())

async function refusal(user: string, token: string): Promise<pg.DatabaseError> {
  return connectError(clientConfig(emulator, user, token))
}

describe('the emulator as Aurora DSQL', () => {
  it('serves as a DSQL endpoint in its region', () => {
    expect(emulator).toMatchObject({
      target: 'dsql',
      endpoint: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws',
      region: 'us-east-1',
    })
  })

  it('lets admin in with a DbConnectAdmin token and a role with a DbConnect token', async () => {
    await expectConnects(emulator, 'admin', await signDsqlToken(emulator, { admin: true }))
    await expectConnects(emulator, role, await signDsqlToken(emulator))
    const client = await connect(emulator, 'admin', await signDsqlToken(emulator, { admin: true }))
    try {
      // DSQL's admin creates roles and tables.
      const table = uniqueName('dsql_admin_table')
      await client.query(`CREATE TABLE ${table} (id int)`)
      await client.query(`DROP TABLE ${table}`)
    } finally {
      await client.end()
    }
  })

  it('refuses the other action for a role with DSQL’s answer and hint', async () => {
    const asAdmin = await refusal('admin', await signDsqlToken(emulator))
    expect(asAdmin).toMatchObject({
      severity: 'FATAL',
      code: '08006',
      message: ACCESS_DENIED,
      hint: 'Wrong user to action mapping. user: admin, action: DbConnect',
    })
    const asRole = await refusal(role, await signDsqlToken(emulator, { admin: true }))
    expect(asRole.hint).toBe(`Wrong user to action mapping. user: ${role}, action: DbConnectAdmin`)
  })

  it('refuses RDS tokens, tokens signed for a port, another host or region', async () => {
    const rds = await new Signer({
      hostname: emulator.endpoint,
      port: emulator.port,
      region: emulator.region,
      username: role,
      credentials: emulator.credentials,
    }).getAuthToken()
    const before = emulator.stats().rejected
    expect(await refusal(role, rds)).toMatchObject({ code: '08006', message: ACCESS_DENIED })
    expect(await refusal(role, (await signDsqlToken(emulator)).replace('/?', ':5432/?'))).toMatchObject({
      message: ACCESS_DENIED,
    })
    const elsewhere = await signDsqlToken(emulator, { hostname: 'zzz.dsql.us-east-1.on.aws' })
    expect((await refusal(role, elsewhere)).message).toBe(ACCESS_DENIED)
    expect((await refusal(role, await signDsqlToken(emulator, { region: 'eu-west-1' }))).message).toBe(
      ACCESS_DENIED,
    )
    const after = emulator.stats().rejected
    expect((after.malformed ?? 0) - (before.malformed ?? 0)).toBe(1)
    expect((after.host ?? 0) - (before.host ?? 0)).toBe(2)
    expect((after.region ?? 0) - (before.region ?? 0)).toBe(1)
  })

  it('honours X-Amz-Expires beyond 15 minutes, and answers an expired token with "Signature expired"', async () => {
    const week = await signDsqlToken(emulator, { expiresIn: 604_800 })
    const short = await signDsqlToken(emulator, { expiresIn: 60 })
    emulator.setClockOffset(2 * 60 * 60_000)
    try {
      await expectConnects(emulator, role, week)
      const expired = await refusal(role, short)
      expect(expired).toMatchObject({ code: '08006', message: ACCESS_DENIED })
      expect(expired.hint).toMatch(/^Signature expired: /)
    } finally {
      emulator.setClockOffset(0)
    }
  })

  it('refuses tokens of credentials that expired, of keys a policy denies and of roles not granted to the key', async () => {
    const expiring = {
      accessKeyId: 'ASIAEXPIRED000000001',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: new Date(Date.now() - 1000),
    }
    const lapsed = await startTestEmulator({ target: 'dsql', credentials: [expiring] })
    try {
      await lapsed.createIamUser(role)
      const error = await connectError(clientConfig(lapsed, role, await signDsqlToken(lapsed)))
      expect(error).toMatchObject({
        message: ACCESS_DENIED,
        hint: 'The security token included in the request is expired',
      })
    } finally {
      await lapsed.close()
    }
    const policy = await refusal(denied, await signDsqlToken(emulator))
    expect(policy.hint).toMatch(
      /^User: arn:aws:iam::000000000000:user\/AKIADSQLEMULATOR0001 is not authorized to perform: dsql:DbConnect$/,
    )
    expect((await refusal(unmapped, await signDsqlToken(emulator))).message).toBe(ACCESS_DENIED)
    await expectConnects(emulator, unmapped, await signDsqlToken(emulator, { credentials: other }))
    expect((await refusal(uniqueName('no_such_role'), await signDsqlToken(emulator))).message).toBe(
      ACCESS_DENIED,
    )
  })

  it('refuses a connection without TLS, and answers the rate limit with 53400', async () => {
    const noTls = await connectError({
      ...clientConfig(emulator, role, await signDsqlToken(emulator)),
      ssl: false,
    })
    expect(noTls).toMatchObject({ code: '08006', message: 'unable to accept connection, ssl is required' })
    emulator.throttle(0)
    try {
      const error = await refusal(role, await signDsqlToken(emulator))
      expect(error).toMatchObject({ code: '53400', message: 'Unable to accept connection, rate exceeded.' })
    } finally {
      emulator.throttle(null)
    }
  })
})

describe('a DSQL emulator with limits', () => {
  let limited: Emulator

  beforeAll(async () => {
    limited = await startTestEmulator({ target: 'dsql', maxConnections: 1, maxSessionAgeMs: 1_500 })
    await limited.createIamUser(role)
  })

  afterAll(() => limited?.close())

  it('refuses connections beyond maxConnections with 53300, and ends sessions at maxSessionAgeMs', async () => {
    const first = await connect(limited, role, await signDsqlToken(limited))
    const ended = new Promise<Error>((resolve) => first.once('error', resolve))
    const error = await connectError(clientConfig(limited, role, await signDsqlToken(limited)))
    expect(error).toMatchObject({
      code: '53300',
      message: 'Unable to accept connection, too many open connections.',
    })
    expect((await ended).message).toMatch(/terminated unexpectedly/)
    expect(limited.events.some((event) => event.type === 'session-aged-out' && event.user === role)).toBe(
      true,
    )
    // The aged-out session no longer counts.
    await expectConnects(limited, role, await signDsqlToken(limited))
  })
})
