import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mergeConnectionSettings, parseConnectionUrl, readLibpqEnv } from './connection-settings'

describe('parseConnectionUrl', () => {
  // First in the file: pg-connection-string warns once per process, so a later test could not see it.
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
    })
    expect(JSON.stringify(settings)).not.toContain('hunter2')
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

  it('refuses an unknown sslmode', () => {
    expect(() => parseConnectionUrl('postgres://app@db.example.com/orders?sslmode=maybe')).toThrow(
      expect.objectContaining({ name: 'RdsIamError', code: 'config' }),
    )
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
    expect(readLibpqEnv({})).toEqual({
      host: undefined,
      port: undefined,
      user: undefined,
      database: undefined,
    })
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
