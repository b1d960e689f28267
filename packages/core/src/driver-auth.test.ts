import { afterEach, describe, expect, it, vi } from 'vitest'
import { createDriverAuth, driverConfig } from './driver-auth'

const endpoint = 'db.cluster-abc.eu-west-1.rds.amazonaws.com'

describe('createDriverAuth', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('builds an IamAuth from the config and the iam block', () => {
    const { auth, database } = createDriverAuth({
      explicit: { host: endpoint, port: 6543, user: 'app', database: 'orders', ssl: 'verify-ca' },
      precedence: 'url',
      iam: { tokenPort: 5432 },
    })
    expect(auth).toMatchObject({
      host: endpoint,
      port: 6543,
      user: 'app',
      region: 'eu-west-1',
      tokenPort: 5432,
    })
    expect(database).toBe('orders')
  })

  it.each([
    ['url', 'from_url'],
    ['explicit', 'from_config'],
  ] as const)('with precedence %s, %s wins', (precedence, user) => {
    const url = `postgres://from_url@${endpoint}/orders`
    const { auth } = createDriverAuth({ explicit: { user: 'from_config' }, url, precedence })
    expect(auth.user).toBe(user)
  })

  it('fills in what neither says from PGHOST, PGPORT, PGUSER and PGDATABASE', () => {
    vi.stubEnv('PGHOST', endpoint)
    vi.stubEnv('PGPORT', '6000')
    vi.stubEnv('PGUSER', 'env_user')
    vi.stubEnv('PGDATABASE', 'env_db')
    const { auth, database } = createDriverAuth({ explicit: { port: 7000 }, precedence: 'url' })
    expect(auth).toMatchObject({ host: endpoint, port: 7000, user: 'env_user' })
    expect(database).toBe('env_db')
  })

  it.each([
    [{ user: 'app' }, 'PGHOST'],
    [{ host: 'db.example.com' }, 'PGUSER'],
  ])('names the variable that would have given a missing setting (%o)', (explicit, variable) => {
    vi.stubEnv('PGHOST', '')
    vi.stubEnv('PGUSER', '')
    expect(() => createDriverAuth({ explicit, precedence: 'url' })).toThrow(
      expect.objectContaining({ code: 'config', hint: expect.stringContaining(variable) }),
    )
  })

  it.each([42, {}, ''])('refuses a database that is not a non-empty string (%o)', (database) => {
    expect(() =>
      createDriverAuth({
        explicit: { host: 'db.example.com', user: 'app', database: database as string },
        precedence: 'url',
      }),
    ).toThrow(expect.objectContaining({ code: 'config', message: expect.stringContaining('`database`') }))
  })

  it.each(['url', 'explicit'] as const)(
    'refuses sslmode=disable in a URL even where explicit options win (%s precedence)',
    (precedence) => {
      expect(() =>
        createDriverAuth({
          explicit: { ssl: { ca: 'PEM' } },
          url: 'postgres://app@db.example.com/app?sslmode=disable',
          precedence,
        }),
      ).toThrow(expect.objectContaining({ code: 'ssl-required' }))
    },
  )
})

describe('driverConfig', () => {
  it('takes no config as an empty one and hands an object back as it is', () => {
    const config = { host: 'db.example.com' }
    expect(driverConfig(undefined)).toEqual({})
    expect(driverConfig(config)).toBe(config)
  })

  it.each([null, 'postgres://app@db/app', 42, []])('refuses %o with a config error', (config) => {
    expect(() => driverConfig(config as object)).toThrow(expect.objectContaining({ code: 'config' }))
  })
})

describe('createDriverAuth for a config made into clients per request', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  // What an adapter passes for a user's config object; the settings are read from it on each call.
  function authOf(config: { user: string; ssl?: object; iam?: { region?: string } }, url?: string) {
    return createDriverAuth({
      explicit: { host: endpoint, user: config.user, ssl: config.ssl as undefined },
      url,
      precedence: 'explicit',
      iam: config.iam,
      rememberFor: config,
    }).auth
  }

  it('gives calls with the same config object the same IamAuth', () => {
    const config = { user: 'app', iam: { region: 'eu-west-1' } }
    const first = authOf(config)
    expect(authOf(config)).toBe(first)
    // An equal config that is another object is another config.
    expect(authOf({ user: 'app', iam: { region: 'eu-west-1' } })).not.toBe(first)
  })

  it('makes a new one once the config, its iam block, a URL beside it or the environment says otherwise', () => {
    const config = { user: 'app', ssl: {}, iam: { region: 'eu-west-1' } }
    const changes: Array<[string, () => void]> = [
      ['a field', () => Object.assign(config, { user: 'other' })],
      ['an object in a field', () => Object.assign(config, { ssl: {} })],
      ['the ssl block', () => Object.assign(config.ssl, { mode: 'verify-ca' })],
      ['the iam block', () => Object.assign(config.iam, { region: 'eu-west-2' })],
      ['PGDATABASE', () => vi.stubEnv('PGDATABASE', 'orders')],
      ['AWS_PROFILE', () => vi.stubEnv('AWS_PROFILE', 'prod')],
    ]
    let before = authOf(config)
    for (const [what, change] of changes) {
      change()
      const after = authOf(config)
      expect(after, what).not.toBe(before)
      expect(authOf(config), what).toBe(after)
      before = after
    }
    expect(authOf(config, `postgres://url_user@${endpoint}/db`)).not.toBe(before)
  })

  it('remembers nothing without rememberFor', () => {
    const settings = { explicit: { host: endpoint, user: 'app' }, precedence: 'url' } as const
    expect(createDriverAuth(settings).auth).not.toBe(createDriverAuth(settings).auth)
  })
})

describe('createDriverAuth refuses what would be misread, at creation', () => {
  const settings = { explicit: { host: endpoint, user: 'app' }, precedence: 'url' as const }

  it.each([
    ['a database with a NUL', { explicit: { ...settings.explicit, database: 'app\u0000' } }, 'U+0000'],
    ['a database from the URL with CR LF', { url: `postgres://app@${endpoint}/app%0D%0A` }, 'U+000D'],
    ['a user from the URL with an escaped NUL', { url: `postgres://app%00@${endpoint}/app` }, 'U+0000'],
    [
      'a host from the URL query with a line feed',
      { url: `postgres://app@${endpoint}/app?host=x%0A` },
      'U+000A',
    ],
    ['a URL with a raw line break', { url: `postgres://app@${endpoint}/app\n` }, 'U+000A'],
    ['a port given as text with a line feed', { explicit: { ...settings.explicit, port: '5432\n' } }, '5432'],
    ['a port given as hexadecimal text', { explicit: { ...settings.explicit, port: '0x1538' } }, '0x1538'],
  ])('%s', (_what, changed, named) => {
    expect(() => createDriverAuth({ ...settings, ...changed })).toThrow(
      expect.objectContaining({ code: 'config', message: expect.stringContaining(named) }),
    )
  })

  it('reads a port given as digits', () => {
    const { auth } = createDriverAuth({ ...settings, explicit: { ...settings.explicit, port: '6543' } })
    expect(auth.port).toBe(6543)
  })

  it('refuses a URL under an option the driver ignores, saying where it goes, and not quoting it', () => {
    const url = `mysql://app:hunter2@${endpoint}/app`
    const misplacedUrl = { options: { connectionString: url }, hint: 'Pass it as the first argument.' }
    const failure = (() => {
      try {
        createDriverAuth({ ...settings, misplacedUrl })
      } catch (error) {
        return error as Error
      }
    })()
    expect(failure).toMatchObject({
      code: 'config',
      message: expect.stringContaining('`connectionString` is not an option of this driver'),
      hint: 'Pass it as the first argument.',
    })
    expect(failure?.message).not.toContain('hunter2')
    expect(() =>
      createDriverAuth({ ...settings, misplacedUrl: { ...misplacedUrl, options: {} } }),
    ).not.toThrow()
  })
})
