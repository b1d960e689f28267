import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { parse as parseWithPg } from 'pg-connection-string'
import { describe, expect, it } from 'vitest'
import { mergeConnectionSettings, parseConnectionUrl, readLibpqEnv } from './connection-settings'

describe('parseConnectionUrl', () => {
  // First in the file: node-postgres's URL parser warns once per process about sslmode; this one must not at all.
  it('emits no process warning of its own for any sslmode', async () => {
    const warnings: unknown[] = []
    const onWarning = (warning: unknown): number => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      for (const sslmode of ['prefer', 'require', 'verify-ca'])
        parseConnectionUrl(`postgres://a@h/d?sslmode=${sslmode}`)
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings).toEqual([])
  })

  it('reads host, port, user and database, and ignores the password', () => {
    const settings = parseConnectionUrl('postgres://app:hunter2@db.example.com:6543/orders')
    expect(settings).toEqual({
      host: 'db.example.com',
      port: 6543,
      user: 'app',
      database: 'orders',
      ssl: undefined,
      parameters: {},
    })
    expect(JSON.stringify(settings)).not.toContain('hunter2')
  })

  // node-postgres reads the same URL with pg-connection-string to connect, so the token must name what it dials.
  it.each([
    'postgres://app@db.example.com:6543/orders',
    'postgresql://app%40corp:p%40ss@db.example.com/my%20db',
    'postgres://app@[2001:db8::1]:5433/orders',
    'postgres://app@/orders?host=db.example.com&port=7000',
    'postgres://app@db.example.com/orders?host=other.example.com&user=owner',
    'postgres:///orders',
    'postgres://db.example.com',
    'postgres://app@db.example.com/orders with space',
  ])('reads host, port, user and database of %s as pg-connection-string does', (url) => {
    const ours = parseConnectionUrl(url)
    const theirs = parseWithPg(url)
    expect({ host: ours.host, port: ours.port, user: ours.user, database: ours.database }).toEqual({
      host: theirs.host || undefined,
      port: theirs.port ? Number(theirs.port) : undefined,
      user: theirs.user || undefined,
      database: theirs.database || undefined,
    })
  })

  it('reads the client certificate and key files a URL names, and ssl=0 as no TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rds-iam-url-'))
    writeFileSync(join(dir, 'cert.pem'), 'CERT PEM')
    writeFileSync(join(dir, 'key.pem'), 'KEY PEM')
    const files = `sslcert=${encodeURIComponent(join(dir, 'cert.pem'))}&sslkey=${encodeURIComponent(join(dir, 'key.pem'))}`
    const settings = parseConnectionUrl(`postgres://app@db.example.com/orders?${files}`)
    expect(settings.ssl).toEqual({ cert: 'CERT PEM', key: 'KEY PEM' })
    expect(settings.parameters).toEqual({})
    expect(parseConnectionUrl('postgres://app@db.example.com/orders?ssl=0').ssl).toBe('disable')
  })

  it('never quotes the password of a URL it refuses', () => {
    let thrown: unknown
    try {
      parseConnectionUrl('postgres://app:s3cret-pw@db.example.com:99999/orders')
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ name: 'RdsIamError', code: 'config' })
    expect(inspect(thrown, { depth: 10 })).not.toContain('s3cret-pw')
  })

  it.each([
    ['verify-full', { mode: 'verify-full' }],
    ['prefer', { mode: 'verify-full' }],
    ['allow', { mode: 'verify-full' }],
    ['verify-ca', { mode: 'verify-ca' }],
    ['require', { mode: 'require' }],
    ['no-verify', { mode: 'require' }],
    ['disable', 'disable'],
  ])('maps sslmode=%s without weakening it', (sslmode, ssl) => {
    expect(parseConnectionUrl(`postgres://app@db.example.com/orders?sslmode=${sslmode}`).ssl).toEqual(ssl)
  })

  it('finds sslmode among other parameters and keeps the rest', () => {
    const settings = parseConnectionUrl(
      'postgres://app@db.example.com/orders?application_name=x&sslmode=verify-ca&port=7000',
    )
    expect(settings).toMatchObject({ port: 7000, ssl: { mode: 'verify-ca' } })
  })

  it('keeps the CA named by sslrootcert, which makes sslmode=require verify the chain as libpq does', () => {
    const caFile = join(mkdtempSync(join(tmpdir(), 'rds-iam-url-')), 'ca.pem')
    writeFileSync(caFile, 'CA PEM')
    const url = `postgres://app@db.example.com/orders?sslmode=require&sslrootcert=${encodeURIComponent(caFile)}`
    expect(parseConnectionUrl(url).ssl).toEqual({ ca: 'CA PEM', mode: 'verify-ca' })
  })

  it.each([
    [
      'a malformed escape in sslmode',
      'postgres://app@db.example.com/orders?sslmode=%E0%A4%A',
      'percent-escape',
    ],
    ['a malformed escape in the user', 'postgres://%zz@db.example.com/orders', 'percent-escape'],
    ['no scheme', 'db.example.com:5432/orders', 'postgres://'],
    ['plain words', 'not a url', 'postgres://'],
    ['an empty string', '', 'postgres://'],
    ['another scheme', 'mysql://app@db.example.com/orders', 'postgres://'],
    ['a port that is no number', 'postgres://app@db.example.com:abc/orders', 'not a valid'],
    ['a port parameter that is no number', 'postgres://app@db.example.com/orders?port=x', 'port'],
    ['a port out of range', 'postgres://app@db.example.com/orders?port=70000', 'port'],
    [
      'sslmode twice',
      'postgres://app@db.example.com/orders?sslmode=verify-full&sslmode=disable',
      'more than once',
    ],
    [
      'a TLS key path that is a directory',
      `postgres://app@db.example.com/orders?sslkey=${encodeURIComponent(tmpdir())}`,
      'sslkey names a file that cannot be read',
    ],
  ])('refuses %s with a config error, never a raw URIError or TypeError', (_name, url, words) => {
    let thrown: unknown
    try {
      parseConnectionUrl(url)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ name: 'RdsIamError', code: 'config' })
    expect((thrown as Error).message).toContain(words)
  })

  it('accepts postgresql:// and an upper-case scheme', () => {
    expect(parseConnectionUrl('postgresql://app@db.example.com/orders').host).toBe('db.example.com')
    expect(parseConnectionUrl('POSTGRES://app@db.example.com/orders').host).toBe('db.example.com')
  })

  it("takes libpq's sslrootcert=system for the default CAs rather than a file to read", () => {
    expect(parseConnectionUrl('postgres://app@db.example.com/orders?sslrootcert=system').ssl).toBeUndefined()
    expect(
      parseConnectionUrl(
        'postgres://app@db.example.com/orders?sslrootcert=system&sslmode=verify-full&port=6543',
      ),
    ).toMatchObject({ port: 6543, ssl: { mode: 'verify-full' } })
  })

  it('names a TLS file of the URL that cannot be read', () => {
    const missing = join(tmpdir(), 'rds-iam-no-such-dir', 'ca.pem')
    expect(() =>
      parseConnectionUrl(`postgres://app@db.example.com/orders?sslrootcert=${encodeURIComponent(missing)}`),
    ).toThrow(expect.objectContaining({ code: 'config', message: expect.stringContaining(missing) }))
  })

  it('refuses an unknown sslmode', () => {
    expect(() => parseConnectionUrl('postgres://app@db.example.com/orders?sslmode=maybe')).toThrow(
      expect.objectContaining({ name: 'RdsIamError', code: 'config' }),
    )
  })
})

describe('the parameters of a URL', () => {
  it('leaves the driver every query parameter rds-iam does not read itself', () => {
    const url =
      'postgres://app:pw@db.example.com/orders?sslmode=verify-full&application_name=api&host=h&port=1&user=u' +
      '&password=p&database=d&ssl=1&sslrootcert=system&options=-c%20search_path%3Dapp&max=5'
    expect(parseConnectionUrl(url).parameters).toEqual({
      application_name: 'api',
      options: '-c search_path=app',
      max: '5',
    })
    expect(parseConnectionUrl('postgres://app@db.example.com/orders').parameters).toEqual({})
  })
})

describe('readLibpqEnv', () => {
  it('reads PGHOST, PGPORT, PGUSER and PGDATABASE', () => {
    const env = {
      PGHOST: 'db.example.com',
      PGPORT: '6543',
      PGUSER: 'app',
      PGDATABASE: 'orders',
      PGPASSWORD: 'x',
    }
    expect(readLibpqEnv(env)).toEqual({ host: 'db.example.com', port: 6543, user: 'app', database: 'orders' })
    expect(readLibpqEnv({})).toEqual({})
  })

  it.each(['abc', '5432x', '0', '70000', '-1', '54.32'])('refuses PGPORT=%s naming PGPORT', (PGPORT) => {
    expect(() => readLibpqEnv({ PGPORT })).toThrow(
      expect.objectContaining({
        name: 'RdsIamError',
        code: 'config',
        message: expect.stringContaining(`PGPORT must be an integer from 1 to 65535, not "${PGPORT}"`),
        hint: expect.stringContaining('Set PGPORT'),
      }),
    )
  })

  it.each([
    ['verify-full', { mode: 'verify-full' }],
    ['verify-ca', { mode: 'verify-ca' }],
    ['require', { mode: 'require' }],
    ['prefer', { mode: 'verify-full' }],
    ['disable', 'disable'],
  ])('maps PGSSLMODE=%s like a URL sslmode', (PGSSLMODE, ssl) => {
    expect(readLibpqEnv({ PGSSLMODE }).ssl).toEqual(ssl)
  })

  it('refuses an unknown PGSSLMODE naming it', () => {
    expect(() => readLibpqEnv({ PGSSLMODE: 'maybe' })).toThrow(
      expect.objectContaining({ code: 'config', message: expect.stringContaining('PGSSLMODE') }),
    )
  })

  it('reads the CA file PGSSLROOTCERT names; with PGSSLMODE=require it verifies the chain as libpq does', () => {
    const caFile = join(mkdtempSync(join(tmpdir(), 'rds-iam-env-')), 'ca.pem')
    writeFileSync(caFile, 'CA PEM')
    expect(readLibpqEnv({ PGSSLROOTCERT: caFile }).ssl).toEqual({ ca: 'CA PEM' })
    expect(readLibpqEnv({ PGSSLROOTCERT: caFile, PGSSLMODE: 'require' }).ssl).toEqual({
      ca: 'CA PEM',
      mode: 'verify-ca',
    })
    expect(readLibpqEnv({ PGSSLROOTCERT: 'system', PGSSLMODE: 'verify-full' }).ssl).toEqual({
      mode: 'verify-full',
    })
  })

  it('names PGSSLROOTCERT when its file cannot be read', () => {
    const missing = join(tmpdir(), 'rds-iam-no-such-dir', 'ca.pem')
    expect(() => readLibpqEnv({ PGSSLROOTCERT: missing })).toThrow(
      expect.objectContaining({
        code: 'config',
        message: `PGSSLROOTCERT names a file that cannot be read: ${missing}. Hint: Point PGSSLROOTCERT at a readable PEM file, or leave it out to trust the Amazon RDS CAs.`,
      }),
    )
  })
})

describe('mergeConnectionSettings', () => {
  it('lets later layers win without undefined hiding earlier values', () => {
    const merged = mergeConnectionSettings(
      { host: 'a', port: 1, user: 'env' },
      { host: 'b', user: undefined },
      { port: 2 },
    )
    expect(merged).toEqual({ host: 'b', port: 2, user: 'env' })
  })
})
