import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { RejectReason } from './events.js'
import type { Emulator, EmulatorOptions } from './start-emulator.js'
import {
  clientConfig,
  connect,
  connectError,
  expectConnects,
  type SigningOverrides,
  signToken,
  startTestEmulator,
  uniqueName,
} from './testing/emulator-fixtures.js'
import type { EmulatorCredentials } from './token-validator.js'

const user = uniqueName('iam_user')
const otherUser = uniqueName('iam_other')
const passwordUser = uniqueName('pw_user')
const pamMessage = `PAM authentication failed for user "${user}"`

let emulator: Emulator
const started: Emulator[] = []
const logLines: string[] = []

async function start(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const log = (line: string): void => {
    logLines.push(line)
  }
  emulator = await startTestEmulator({ logger: { info: log, warn: log }, ...options })
  started.push(emulator)
  return emulator
}

function rejection(reason: RejectReason): Promise<unknown> {
  return emulator.waitForEvent((event) => event.type === 'auth-rejected' && event.reason === reason)
}

beforeAll(async () => {
  const admin = await start()
  await admin.createIamUser(user)
  await admin.createIamUser(otherUser)
  await admin.createPasswordUser(passwordUser, 'correct horse')
})

afterEach(async () => {
  await Promise.all(started.splice(0).map((instance) => instance.close()))
})

describe('IAM users', () => {
  it('accepts a token from @aws-sdk/rds-signer and hands over the upstream session', async () => {
    await start()
    const client = await connect(emulator, user, await signToken(emulator, user))
    try {
      const { rows } = await client.query<{ user: string; pid: number }>(
        'SELECT current_user AS user, pg_backend_pid() AS pid',
      )
      expect(rows[0]?.user).toBe(user)
      // BackendKeyData came from the upstream backend itself, so cancel requests can reach it.
      expect((client as unknown as { processID: number }).processID).toBe(rows[0]?.pid)
      expect(await emulator.waitForEvent((event) => event.type === 'auth-accepted')).toMatchObject({
        user,
        database: 'postgres',
        accessKeyId: emulator.credentials.accessKeyId,
      })
      expect(emulator.stats()).toMatchObject({ accepted: 1, rejected: {} })
    } finally {
      await client.end()
    }
  })

  it('adapterOptions names everything a client needs: where to dial, what to sign for, what to trust', async () => {
    await start()
    const { host, port, user: who, database, ssl, iam } = emulator.adapterOptions(user)
    const token = await new Signer({
      hostname: iam.tokenHost,
      port: iam.tokenPort,
      region: iam.region,
      credentials: iam.credentials,
      username: who,
    }).getAuthToken()
    const client = new pg.Client({
      host,
      port,
      user: who,
      database,
      password: token,
      ssl: { ca: ssl.ca, servername: iam.tokenHost },
    })
    await client.connect()
    try {
      expect((await client.query('SELECT current_user AS who')).rows).toEqual([{ who: user }])
    } finally {
      await client.end()
    }
  })

  it('lets one token open many connections, and open sessions outlive it', async () => {
    await start()
    const token = await signToken(emulator, user)
    const first = await connect(emulator, user, token)
    const second = await connect(emulator, user, token)
    try {
      emulator.setClockOffset(16 * 60_000)
      expect((await first.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      const error = await connectError(clientConfig(emulator, user, token))
      expect(error.message).toBe(pamMessage)
    } finally {
      await Promise.all([first.end(), second.end()])
    }
  })

  interface RejectionCase {
    name: string
    reason: RejectReason
    options?: Partial<EmulatorOptions>
    arrange?: (emulator: Emulator) => void
    password: (emulator: Emulator) => Promise<string>
  }

  const temporary = (expiration: Date): EmulatorCredentials => ({
    accessKeyId: 'ASIAEMULATORTEST0001',
    secretAccessKey: 'temporary-secret-key',
    sessionToken: 'temporary-session-token',
    expiration,
  })
  const signedWith = (overrides: (emulator: Emulator) => SigningOverrides) => (emulator: Emulator) =>
    signToken(emulator, user, overrides(emulator))

  const cases: RejectionCase[] = [
    {
      name: 'a token past 900 s (moved clock)',
      reason: 'expired',
      arrange: (emulator) => emulator.setClockOffset(15 * 60_000 + 5_000),
      password: signedWith(() => ({})),
    },
    {
      name: 'a token past a shortened lifetime',
      reason: 'expired',
      arrange: (emulator) => {
        emulator.setTokenLifetime(60)
        emulator.setClockOffset(61_000)
      },
      password: signedWith(() => ({})),
    },
    {
      name: 'a tampered signature',
      reason: 'signature',
      password: async (emulator) =>
        (await signToken(emulator, user)).replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) =>
          c === 'a' ? 'X-Amz-Signature=b' : 'X-Amz-Signature=a',
        ),
    },
    {
      name: 'a wrong secret key',
      reason: 'signature',
      password: signedWith((emulator) => ({
        credentials: { ...emulator.credentials, secretAccessKey: 'wrong' },
      })),
    },
    {
      name: 'an unknown access key',
      reason: 'unknown-key',
      password: signedWith(() => ({
        credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' },
      })),
    },
    {
      name: "another user's token",
      reason: 'user-mismatch',
      password: (emulator) => signToken(emulator, otherUser),
    },
    { name: 'a wrong region', reason: 'region', password: signedWith(() => ({ region: 'eu-central-1' })) },
    {
      name: 'a wrong host',
      reason: 'host',
      password: signedWith(() => ({ hostname: 'other.cluster-abc123def456.us-east-1.rds.amazonaws.com' })),
    },
    {
      name: 'a wrong port',
      reason: 'host',
      password: signedWith((emulator) => ({ port: emulator.port + 1 })),
    },
    {
      name: 'expired session credentials',
      reason: 'session-expired',
      options: { credentials: [temporary(new Date(Date.now() - 1000))] },
      password: signedWith(() => ({ credentials: temporary(new Date(Date.now() + 60_000)) })),
    },
    {
      name: 'a policy without rds-db:connect',
      reason: 'policy',
      options: { policy: ({ user: name }) => name !== user },
      password: signedWith(() => ({})),
    },
    { name: 'garbage', reason: 'malformed', password: async () => 'garbage' },
  ]

  it.each(cases)('answers $name with the PAM failure (reason $reason)', async (testCase) => {
    await start(testCase.options)
    const token = await testCase.password(emulator)
    testCase.arrange?.(emulator)
    const error = await connectError(clientConfig(emulator, user, token))
    expect({ code: error.code, severity: error.severity, message: error.message }).toEqual({
      code: '28000',
      severity: 'FATAL',
      message: pamMessage,
    })
    await rejection(testCase.reason)
    expect(emulator.stats().rejected).toEqual({ [testCase.reason]: 1 })
    const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(token)?.[1] ?? token
    expect(JSON.stringify(emulator.events)).not.toContain(signature)
    expect(logLines.join('\n')).not.toContain(signature)
  })

  it('refuses an unencrypted IAM login with the pg_hba message', async () => {
    await start()
    const token = await signToken(emulator, user)
    const error = await connectError({ ...clientConfig(emulator, user, token), ssl: false })
    expect(error.code).toBe('28000')
    expect(error.message).toBe(
      `no pg_hba.conf entry for host "127.0.0.1", user "${user}", database "postgres", no encryption`,
    )
    await rejection('no-encryption')
  })

  it('accepts tokens up to 65530 bytes (a PasswordMessage of 65535) and refuses longer ones', async () => {
    const padded = (length: number): EmulatorCredentials => ({
      accessKeyId: 'ASIAEMULATORTEST0002',
      secretAccessKey: 'padded-secret',
      sessionToken: 'x'.repeat(length),
    })
    await start({ credentials: [padded(1)] })
    // Session token characters need no escaping, so the token grows by one byte per character.
    const fill = 1 + 65_530 - (await signToken(emulator, user, { credentials: padded(1) })).length
    await start({ credentials: [padded(fill)] })
    const longest = await signToken(emulator, user, { credentials: padded(fill) })
    expect(Buffer.byteLength(longest)).toBe(65_530)
    await expectConnects(emulator, user, longest)
    // One byte more does not fit a PasswordMessage: PostgreSQL closes such a connection without an answer.
    const tooLong = await signToken(emulator, user, { credentials: padded(fill + 1) })
    const error = await connectError(clientConfig(emulator, user, tooLong))
    expect(error.code).toBeUndefined()
    expect(error.message).toMatch(/Connection terminated unexpectedly/)
    await rejection('malformed')
  })
})

describe('users that are not IAM users', () => {
  it('go through to the upstream password authentication', async () => {
    await start()
    const client = await connect(emulator, passwordUser, 'correct horse')
    const { rows } = await client.query('SELECT current_user AS user')
    await client.end()
    expect(rows).toEqual([{ user: passwordUser }])
    const error = await connectError(clientConfig(emulator, passwordUser, 'wrong'))
    expect(error.code).toBe('28P01')
    expect(error.message).toBe(`password authentication failed for user "${passwordUser}"`)
    expect(emulator.stats().passthrough).toBe(2)
  })
})

describe('controls', () => {
  it('rejectNext answers the PAM failure, then the same token works', async () => {
    await start()
    emulator.rejectNext(1)
    const token = await signToken(emulator, user)
    const error = await connectError(clientConfig(emulator, user, token))
    expect(error.message).toBe(pamMessage)
    await rejection('forced')
    await expectConnects(emulator, user, token)
  })

  it('throttle answers 57014 beyond the rate, and null lifts it', async () => {
    await start()
    emulator.throttle(2)
    const token = await signToken(emulator, user)
    // Ten logins at once: for none to be refused they would have to spread over five seconds.
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, () => connect(emulator, user, token)),
    )
    const connected = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []))
    const errors = attempts.flatMap((attempt) =>
      attempt.status === 'rejected' ? [attempt.reason as pg.DatabaseError] : [],
    )
    await Promise.all(connected.map((client) => client.end()))
    expect(connected.length).toBeGreaterThanOrEqual(2)
    expect(errors.length).toBeGreaterThanOrEqual(1)
    for (const error of errors) {
      expect({ code: error.code, message: error.message }).toEqual({
        code: '57014',
        message: 'canceling authentication due to timeout',
      })
    }
    expect(emulator.stats().rejected.throttled).toBe(errors.length)
    emulator.throttle(null)
    await expectConnects(emulator, user, token)
  })

  it('refuseNew closes new connections until it is turned off', async () => {
    await start()
    const token = await signToken(emulator, user)
    emulator.refuseNew(true)
    await expect(connect(emulator, user, token)).rejects.toThrow()
    await emulator.waitForEvent((event) => event.type === 'connection-refused')
    emulator.refuseNew(false)
    await expectConnects(emulator, user, token)
  })

  it('delayAuth holds the answer to a token', async () => {
    await start()
    const token = await signToken(emulator, user)
    emulator.delayAuth(400)
    const startedAt = performance.now()
    await expectConnects(emulator, user, token)
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(400)
  })

  it('refuses a lifetime outside 1–900 s', async () => {
    await start()
    expect(() => emulator.setTokenLifetime(901)).toThrow(RangeError)
    expect(() => emulator.setTokenLifetime(0)).toThrow(RangeError)
  })
})
