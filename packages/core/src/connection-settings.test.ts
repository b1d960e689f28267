import { describe, expect, it } from 'vitest'
import { mergeConnectionSettings, parseConnectionUrl, readLibpqEnv } from './connection-settings'

describe('parseConnectionUrl', () => {
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
