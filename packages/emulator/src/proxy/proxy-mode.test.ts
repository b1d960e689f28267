import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:net'
import { connect as dialTls, rootCertificates } from 'node:tls'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from '../start-emulator.js'
import {
  clientConfig,
  connectError,
  expectConnects,
  signToken,
  startTestEmulator,
  uniqueName,
} from '../testing/emulator-fixtures.js'
import { SSL_REQUEST, untypedPacket } from '../testing/wire-client.js'

const user = uniqueName('proxy_user')
const plainUser = uniqueName('proxy_plain')
let proxy: Emulator

beforeAll(async () => {
  proxy = await startTestEmulator({ target: 'rds-proxy' })
  await proxy.createIamUser(user)
  await proxy.createPasswordUser(plainUser, 'a password')
})
afterAll(() => proxy?.close())

async function configWithToken(overrides: Partial<pg.ClientConfig> = {}): Promise<pg.ClientConfig> {
  return { ...clientConfig(proxy, user, await signToken(proxy, user)), ...overrides }
}

// The fields a client sees: what rds-iam classifies on.
const answer = (error: pg.DatabaseError) => ({
  severity: error.severity,
  code: error.code,
  message: error.message,
  file: error.file,
})

describe('proxy mode: names', () => {
  it('serves as a proxy endpoint and checks tokens signed for it', async () => {
    expect(proxy.endpoint).toBe('demo.proxy-abc123def456.us-east-1.rds.amazonaws.com')
    expect(proxy.region).toBe('us-east-1')
    await expectConnects(proxy, user, await signToken(proxy, user))
  })

  it('serves a custom proxy endpoint name (`<e>.endpoint.proxy-...`) with its region', async () => {
    const readers = await startTestEmulator({
      target: 'rds-proxy',
      proxyRoot: proxy.root,
      endpoint: 'readers.endpoint.proxy-abc123def456.eu-west-2.rds.amazonaws.com',
    })
    try {
      await readers.createIamUser(user)
      expect(readers.region).toBe('eu-west-2')
      // The same stand-in root, so one trusted root verifies every proxy endpoint.
      expect(readers.ca).toBe(proxy.ca)
      await expectConnects(readers, user, await signToken(readers, user))
    } finally {
      await readers.close()
    }
  })
})

describe('proxy mode: certificate chain', () => {
  async function peerChain(ca: string): Promise<{ authorized: boolean; chain: string[] }> {
    // The emulator, like PostgreSQL, answers an SSLRequest with 'S' before the handshake.
    const socket = connect(proxy.port, proxy.host)
    socket.write(untypedPacket(SSL_REQUEST))
    await once(socket, 'data')
    const secure = dialTls({ socket, servername: proxy.endpoint, ca, rejectUnauthorized: false })
    await once(secure, 'secureConnect')
    const chain: string[] = []
    let certificate = secure.getPeerCertificate(true)
    while (!chain.includes(String(certificate.subject.CN))) {
      chain.push(String(certificate.subject.CN))
      certificate = certificate.issuerCertificate
    }
    const result = { authorized: secure.authorized, chain }
    secure.destroy()
    return result
  }

  it('sends the leaf and an intermediate that chain to the stand-in root, not to an RDS CA', async () => {
    const { authorized, chain } = await peerChain(proxy.ca)
    expect(authorized).toBe(true)
    expect(chain).toEqual([
      proxy.endpoint,
      'rds-iam emulator stand-in for Amazon RSA 2048 M02',
      'rds-iam emulator stand-in for Amazon Root CA 1',
    ])
    const root = new X509Certificate(proxy.ca)
    expect(root.ca).toBe(true)
    expect(root.subject).toContain('Amazon Root CA 1')
    expect(root.publicKey.asymmetricKeyType).toBe('rsa')
  })

  it("stands in for a root Node's own list really has: Amazon Root CA 1 is among rootCertificates", () => {
    const subjects = rootCertificates.map((pem) => new X509Certificate(pem).subject)
    for (const n of [1, 2, 3, 4]) expect(subjects).toContain(`C=US\nO=Amazon\nCN=Amazon Root CA ${n}`)
  })
})

describe("proxy mode: the proxy's own answers", () => {
  it('answers a bad token with the role text (28P01), or with the user text when asked', async () => {
    const bad = await configWithToken({
      password: (await signToken(proxy, user)).replace(/Signature=../, 'Signature=00'),
    })
    expect(answer(await connectError(bad))).toEqual({
      severity: 'FATAL',
      code: '28P01',
      message: `The IAM authentication failed for the role ${user}. Check the IAM token for this role and try again.`,
      file: undefined,
    })
    proxy.proxy?.setTokenRejectionWording('user')
    try {
      expect((await connectError(bad)).message).toBe(
        `IAM authentication failed for user ${user}. Check the IAM token for this user and try again.`,
      )
    } finally {
      proxy.proxy?.setTokenRejectionWording('role')
    }
  })

  it('answers IAM without TLS with "requires TLS" (28000), or "only with SSL" when Require TLS is off', async () => {
    const noTls = await configWithToken({ ssl: false })
    expect(answer(await connectError(noTls))).toMatchObject({
      code: '28000',
      message: 'This RDS Proxy requires TLS connections.',
    })
    const lax = await startTestEmulator({ target: 'rds-proxy', proxyRoot: proxy.root, forceSsl: false })
    try {
      await lax.createIamUser(user)
      const config = { ...clientConfig(lax, user, await signToken(lax, user)), ssl: false }
      expect(answer(await connectError(config))).toMatchObject({
        code: '28000',
        message: 'IAM authentication is allowed only with SSL connections.',
      })
    } finally {
      await lax.close()
    }
  })

  it('answers throttled IAM logins with "too many competing requests"', async () => {
    proxy.throttle(0)
    try {
      expect(answer(await connectError(await configWithToken()))).toMatchObject({
        code: '53300',
        message: 'The IAM authentication failed because of too many competing requests.',
      })
    } finally {
      proxy.throttle(null)
    }
    expect(proxy.stats().rejected.throttled).toBeGreaterThan(0)
  })

  it('enforces its connect rate and its client connection limit with their texts', async () => {
    const held = new (await import('pg')).default.Client(await configWithToken())
    await held.connect()
    try {
      proxy.proxy?.limitClientConnections(1)
      expect((await connectError(await configWithToken())).message).toBe(
        'The maximum number of client connections to the proxy exceeded 1.',
      )
      proxy.proxy?.limitClientConnections(null)
      proxy.proxy?.limitConnectRate(1)
      await expectConnects(proxy, user, await signToken(proxy, user))
      expect(answer(await connectError(await configWithToken()))).toMatchObject({
        code: '53300',
        message: 'Rate of connection to proxy exceeded 1.',
      })
    } finally {
      proxy.proxy?.limitClientConnections(null)
      proxy.proxy?.limitConnectRate(null)
      await held.end()
    }
    expect(proxy.stats().rejected['connection-limit']).toBe(2)
  })

  it('has no secret for a user without rds_iam', async () => {
    const config = clientConfig(proxy, plainUser, 'a password')
    expect(answer(await connectError(config))).toMatchObject({
      code: '28000',
      message: `This RDS proxy has no credentials for the role ${plainUser}. Check the credentials for this role and try again.`,
    })
  })

  it.each([
    ['options', { options: '-c search_path=app' }],
    ['statement_timeout', { statement_timeout: 5_000 }],
  ])('refuses the startup parameter %s (0A000)', async (name, extra) => {
    const refused = await connectError(await configWithToken(extra as Partial<pg.ClientConfig>))
    expect(answer(refused)).toMatchObject({
      code: '0A000',
      message: `Feature not supported: RDS Proxy currently doesn't support the option ${name}.`,
    })
  })

  it('lets the parameters drivers send by default through', async () => {
    await expectConnects(proxy, user, await signToken(proxy, user))
    const config = await configWithToken({ application_name: 'orders', client_encoding: 'UTF8' })
    const client = new (await import('pg')).default.Client(config)
    await client.connect()
    try {
      expect((await client.query('select current_setting($1) as name', ['application_name'])).rows).toEqual([
        { name: 'orders' },
      ])
    } finally {
      await client.end()
    }
  })

  it('refuses the proxy mode with direct, which has no relay', async () => {
    await expect(startTestEmulator({ target: 'rds-proxy', direct: true })).rejects.toThrow(/`target`.*direct/)
  })
})
