import { spawn } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { once } from 'node:events'
import { appendFile } from 'node:fs/promises'
import { connect as connectTcp } from 'node:net'
import { createInterface } from 'node:readline'
import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresServer, startPostgres } from './postgres-server.js'
import { type Emulator, type EmulatorOptions, startEmulator } from './start-emulator.js'
import { clientConfig, connect, connectError, signToken, uniqueName } from './testing/emulator-fixtures.js'
import {
  signGoStyle,
  signWithAwsCli,
  signWithBotocore,
  type TokenRequest,
} from './testing/official-signers.js'

const user = uniqueName('direct_iam')
const passwordUser = uniqueName('direct_pw')
const password = 'a-password-for-direct-mode'

// A direct emulator takes its PostgreSQL over, so this file starts one of its own.
let postgres: PostgresServer
const started: Emulator[] = []

async function start(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  const emulator = await startEmulator({ upstream: postgres, direct: true, ...options })
  started.push(emulator)
  await emulator.createIamUser(user)
  await emulator.createPasswordUser(passwordUser, password)
  return emulator
}

// The options of each pg_hba.conf line that sends logins to an LDAP server.
async function ldapRules(): Promise<string[][]> {
  const client = new pg.Client({ ...postgres, host: postgres.socketDir })
  await client.connect()
  try {
    const { rows } = await client.query<{ options: string[] }>(
      "SELECT options FROM pg_hba_file_rules WHERE auth_method = 'ldap'",
    )
    return rows.map((row) => row.options)
  } finally {
    await client.end()
  }
}

// node-postgres settings that reach the emulator's PostgreSQL without TLS.
function plain(emulator: Emulator, who: string, secret: string): pg.ClientConfig {
  return { ...clientConfig(emulator, who, secret), ssl: false }
}

beforeAll(async () => {
  postgres = await startPostgres()
})
afterEach(async () => {
  await Promise.all(started.splice(0).map((emulator) => emulator.close()))
})
afterAll(async () => {
  await postgres?.stop()
})

describe('direct: true', () => {
  it("lets an IAM user's session reach PostgreSQL itself, over TLS, with no process in between", async () => {
    const emulator = await start()
    expect(emulator.port).toBe(postgres.port)
    const client = await connect(emulator, user, await signToken(emulator, user))
    try {
      const { rows } = await client.query<{ ssl: boolean; address: string; port: number; who: string }>(`
        SELECT s.ssl, host(inet_client_addr()) AS address, a.client_port AS port, current_user AS who
        FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE pid = pg_backend_pid()`)
      const localPort = (client as unknown as { connection: { stream: { localPort: number } } }).connection
        .stream.localPort
      // The server's peer is the client's own socket: nothing relays the session.
      expect(rows).toEqual([{ ssl: true, address: '127.0.0.1', port: localPort, who: user }])
    } finally {
      await client.end()
    }
    expect(emulator.stats().accepted).toBe(1)
    expect(emulator.events).toContainEqual(
      expect.objectContaining({ type: 'auth-accepted', user, accessKeyId: emulator.credentials.accessKeyId }),
    )
  })

  // Temporary credentials make the longest tokens: PostgreSQL hands the whole of one over LDAP.
  it.each([
    [
      '@aws-sdk/rds-signer',
      ({ user: username, ...request }: TokenRequest) => new Signer({ ...request, username }).getAuthToken(),
    ],
    ['botocore', signWithBotocore],
    ['aws rds generate-db-auth-token', signWithAwsCli],
    ['the Go SDK v2 shape', async (request: TokenRequest) => signGoStyle(request)],
  ])('accepts a token of temporary credentials from %s', async (_, sign) => {
    const credentials = {
      accessKeyId: 'ASIAEMULATORDIRECT01',
      secretAccessKey: 'a-secret-key-of-temporary-credentials-0000',
      sessionToken: `IQoJb3JpZ2luX2VjE${'Ab0/+'.repeat(180)}=`,
    }
    const emulator = await start({ credentials: [credentials] })
    const endpoint = emulator.endpoint.toUpperCase()
    const token = await sign({
      hostname: endpoint,
      port: emulator.port,
      region: emulator.region,
      user,
      credentials,
    })
    expect(token.length).toBeGreaterThan(1000)
    await (await connect(emulator, user, token)).end()
  })

  it("refuses an expired token with PostgreSQL's own LDAP failure and says why in its events", async () => {
    const emulator = await start({ clockOffsetMs: 16 * 60_000 })
    const token = await signToken(emulator, user)
    const error = await connectError(clientConfig(emulator, user, token))
    expect(error).toMatchObject({
      code: '28000',
      severity: 'FATAL',
      message: `LDAP authentication failed for user "${user}"`,
      file: 'auth.c',
      routine: 'auth_failed',
    })
    expect(emulator.events).toContainEqual(
      expect.objectContaining({ type: 'auth-rejected', user, reason: 'expired' }),
    )
    expect(JSON.stringify(emulator.events)).not.toContain(token.split('X-Amz-Signature=')[1])
  })

  it('applies rejectNext, the policy, and the host and port a token was signed for', async () => {
    const denied = uniqueName('direct_denied')
    const emulator = await start({ policy: ({ user: who }) => who !== denied })
    await emulator.createIamUser(denied)
    emulator.rejectNext(1)
    const token = await signToken(emulator, user)
    expect(await connectError(clientConfig(emulator, user, token))).toMatchObject({ code: '28000' })
    const wrongPort = await signToken(emulator, user, { port: 5432 })
    expect(await connectError(clientConfig(emulator, user, wrongPort))).toMatchObject({ code: '28000' })
    const deniedToken = await signToken(emulator, denied)
    expect(await connectError(clientConfig(emulator, denied, deniedToken))).toMatchObject({ code: '28000' })
    await (await connect(emulator, user, token)).end()
    expect(emulator.stats()).toMatchObject({ accepted: 1, rejected: { forced: 1, host: 1, policy: 1 } })
  })

  it('holds a login for delayAuth before PostgreSQL lets it in', async () => {
    const emulator = await start()
    const token = await signToken(emulator, user)
    emulator.delayAuth(400)
    const before = Date.now()
    await (await connect(emulator, user, token)).end()
    expect(Date.now() - before).toBeGreaterThanOrEqual(400)
  })

  it('refuses the login when the policy throws, and says so in an event', async () => {
    const emulator = await start({
      policy: () => {
        throw new Error('the policy store is down')
      },
    })
    const error = await connectError(clientConfig(emulator, user, await signToken(emulator, user)))
    expect(error).toMatchObject({ code: '28000', message: `LDAP authentication failed for user "${user}"` })
    expect(emulator.events).toContainEqual({
      type: 'connection-error',
      message: 'checking a token: the policy store is down',
    })
  })

  it("answers users without TLS with PostgreSQL's pg_hba refusal, as RDS does", async () => {
    const emulator = await start()
    const token = await signToken(emulator, user)
    expect(await connectError(plain(emulator, user, token))).toMatchObject({
      code: '28000',
      message: `no pg_hba.conf entry for host "127.0.0.1", user "${user}", database "postgres", no encryption`,
    })
    expect(await connectError(plain(emulator, passwordUser, password))).toMatchObject({ code: '28000' })
    // Over TLS, a password user is PostgreSQL's as before, behind the emulator's certificate.
    await (await connect(emulator, passwordUser, password)).end()
  })

  it('lets password users in without TLS when forceSsl is off, and never IAM users', async () => {
    const emulator = await start({ forceSsl: false })
    await new pg.Client(plain(emulator, passwordUser, password)).connect().then((client) => client.end())
    const error = await connectError(plain(emulator, user, await signToken(emulator, user)))
    expect(error).toMatchObject({
      code: '28000',
      message: expect.stringMatching(/pg_hba\.conf.*no encryption/),
    })
  })

  it("refuses users without TLS when the upstream's own pg_hba.conf would take them", async () => {
    const permissive = await startPostgres()
    try {
      // As a PostgreSQL set up by hand often is: passwords with or without TLS.
      const admin = new pg.Client({ ...permissive, host: permissive.socketDir })
      await admin.connect()
      const { rows } = await admin.query<{ hba_file: string }>('SHOW hba_file')
      await admin.end()
      await appendFile(rows[0]!.hba_file, 'host all all 127.0.0.1/32 scram-sha-256\n')
      const emulator = await startEmulator({ upstream: permissive, direct: true })
      try {
        await emulator.createIamUser(user)
        await emulator.createPasswordUser(passwordUser, password)
        const token = await signToken(emulator, user)
        expect(await connectError(plain(emulator, user, token))).toMatchObject({
          code: '28000',
          message: `pg_hba.conf rejects connection for host "127.0.0.1", user "${user}", database "postgres", no encryption`,
        })
        expect(await connectError(plain(emulator, passwordUser, password))).toMatchObject({
          code: '28000',
          message: expect.stringMatching(/^pg_hba\.conf rejects connection .* no encryption$/),
        })
      } finally {
        await emulator.close()
      }
      // Its own line is back in force.
      const client = new pg.Client(plain(emulator, passwordUser, password))
      await client.connect()
      await client.end()
    } finally {
      await permissive.stop()
    }
  })

  it('keeps answering logins after garbage, random and oversized messages on its LDAP port', async () => {
    const emulator = await start()
    const ldapPort = Number(
      (await ldapRules())[0]?.find((option) => option.startsWith('ldapport='))?.split('=')[1],
    )
    expect(ldapPort).toBeGreaterThan(0)
    const payloads = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0x30, 0x83, 0x10, 0x00, 0x00, ...Buffer.alloc(80_000)]),
      Buffer.from([0x30, 0x05, 0x02, 0x01, 0x01, 0x60, 0x00]),
      // Random bytes, and random contents in a well-framed LDAPMessage, which the parser reads field by field.
      ...Array.from({ length: 100 }, () => randomBytes(randomInt(1, 400))),
      ...Array.from({ length: 100 }, () => {
        const contents = randomBytes(randomInt(0, 400))
        const { length } = contents
        const header =
          length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8, length & 0xff]
        return Buffer.concat([Buffer.from([0x30, ...header]), contents])
      }),
    ]
    for (const payload of payloads) {
      const socket = connectTcp(ldapPort, '127.0.0.1')
      socket.on('error', () => undefined)
      socket.end(payload)
      await once(socket, 'close')
    }
    await (await connect(emulator, user, await signToken(emulator, user))).end()
  })

  it('gives PostgreSQL back its own pg_hba.conf and certificate when closed', async () => {
    const emulator = await start()
    expect(await ldapRules()).toHaveLength(1)
    await emulator.close()
    expect(await ldapRules()).toEqual([])
    const own = new pg.Client({
      host: postgres.host,
      port: postgres.port,
      user: postgres.user,
      password: postgres.password,
      database: 'postgres',
      ssl: { ca: postgres.ca },
    })
    await own.connect()
    await own.end()
    // The relay can use it again.
    const relay = await startEmulator({ upstream: postgres })
    started.push(relay)
    await (await connect(relay, user, await signToken(relay, user))).end()
  })

  it('refuses to share its PostgreSQL with another emulator, direct or not', async () => {
    await start()
    await expect(startEmulator({ upstream: postgres, direct: true })).rejects.toThrow(
      /Another emulator with `direct: true` is using this PostgreSQL/,
    )
    await expect(startEmulator({ upstream: postgres })).rejects.toThrow(
      /taken over by an emulator with `direct: true`/,
    )
  })

  it('takes over a PostgreSQL whose last direct emulator died without close()', async () => {
    const entry = JSON.stringify(new URL('./start-emulator.ts', import.meta.url).href)
    const script = `const { startEmulator } = await import(${entry})
await startEmulator({ upstream: JSON.parse(process.env.UPSTREAM), direct: true })
console.log('ready')`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, UPSTREAM: JSON.stringify({ ...postgres, stop: undefined }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const [line] = await once(createInterface({ input: child.stdout! }), 'line')
    expect(line).toBe('ready')
    child.kill('SIGKILL')
    await once(child, 'exit')
    await expect(startEmulator({ upstream: postgres })).rejects.toThrow(/exited without close\(\)/)
    const emulator = await start()
    expect(await ldapRules()).toHaveLength(1)
    await (await connect(emulator, user, await signToken(emulator, user))).end()
  })

  it('names the options and controls that need the relay', async () => {
    for (const option of [{ upstreamTls: false }, { authenticationTimeoutMs: 5000 }, { port: 1 }]) {
      await expect(start(option)).rejects.toThrow(
        `\`${Object.keys(option)[0]}\` cannot be used with \`direct: true\``,
      )
    }
    const emulator = await start()
    expect(() => emulator.throttle(1)).toThrow("`throttle` needs the emulator's relay")
    expect(() => emulator.refuseNew()).toThrow("`refuseNew` needs the emulator's relay")
    expect(() => emulator.dropConnections()).toThrow("`dropConnections` needs the emulator's relay")
    await expect(emulator.restart()).rejects.toThrow("`restart` needs the emulator's relay")
  })
})
