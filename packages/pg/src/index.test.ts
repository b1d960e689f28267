import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect, types } from 'node:util'
import { type IamEvent, RdsIamError } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { createClient, createPool, type IamPoolConfig } from './index'

let emulator: Emulator
let workDir: string
let caFile: string
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  emulator = await startEmulator({ upstream: inject('postgres') })
  await emulator.createIamUser('iam_pg_user')
  workDir = await mkdtemp(join(tmpdir(), 'rds-iam-pg-'))
  caFile = join(workDir, 'ca.pem')
  await writeFile(caFile, emulator.ca)
})
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})
afterAll(async () => {
  await emulator?.close()
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

function iamBlock(events: IamEvent[] = []): IamPoolConfig['iam'] {
  return { ...emulator.adapterOptions('iam_pg_user').iam, onEvent: (event) => events.push(event) }
}

function pool(config: IamPoolConfig): pg.Pool {
  const created = createPool(config)
  closers.push(() => created.end())
  return created
}

const baseConfig = (): IamPoolConfig => ({ ...emulator.adapterOptions('iam_pg_user'), iam: iamBlock() })

describe('createPool', () => {
  it('returns a real pg.Pool of the installed pg', () => {
    expect(pool(baseConfig())).toBeInstanceOf(pg.Pool)
  })

  it('retries pool.connect() once with a fresh token after a rejection and keeps no dead client', async () => {
    const events: IamEvent[] = []
    const iamPool = pool({ ...baseConfig(), iam: iamBlock(events) })
    emulator.rejectNext(1)
    const client = await iamPool.connect()
    expect((await client.query('select current_user as who')).rows).toEqual([{ who: 'iam_pg_user' }])
    client.release()
    expect(iamPool.totalCount).toBe(1)
    expect(events.filter((event) => event.type === 'auth-retry')).toHaveLength(1)
  })

  // Every property access on a Proxy costs V8 tens of nanoseconds, and pg-pool touches its clients on each checkout.
  it('checks out real pg.Clients, not proxies of them', async () => {
    const client = await pool(baseConfig()).connect()
    expect(types.isProxy(client)).toBe(false)
    expect(client).toBeInstanceOf(pg.Client)
    client.release()
  })

  it("returns pool.connect()'s promise from pg-pool's Promise option, as pg-pool does", async () => {
    class TracedPromise<T> extends Promise<T> {}
    const checkout = pool({ ...baseConfig(), Promise: TracedPromise }).connect()
    expect(checkout).toBeInstanceOf(TracedPromise)
    ;(await checkout).release()
  })

  it('retries a checkout that waited for a full pool and got a new client that was rejected', async () => {
    const events: IamEvent[] = []
    const iamPool = pool({ ...baseConfig(), iam: iamBlock(events), max: 1 })
    const held = await iamPool.connect()
    const waiting = iamPool.query('select current_user as who')
    emulator.rejectNext(1)
    // Destroying the held client makes pg-pool open a new one for the waiting query, outside its connect() call.
    held.release(true)
    expect((await waiting).rows).toEqual([{ who: 'iam_pg_user' }])
    expect(events.filter((event) => event.type === 'auth-retry')).toHaveLength(1)
    expect(iamPool.totalCount).toBe(1)
  })

  it('supports the callback form of pool.connect()', async () => {
    const iamPool = pool(baseConfig())
    emulator.rejectNext(1)
    const who = await new Promise((resolve, reject) => {
      iamPool.connect((error, client, release) => {
        if (error || !client) return reject(error)
        client.query('select current_user as who').then((result) => {
          release()
          resolve(result.rows[0]?.who)
        }, reject)
      })
    })
    expect(who).toBe('iam_pg_user')
  })
})

describe('failure paths', () => {
  it('bounds the whole connect by connectionTimeoutMillis and reports it as network, not throttling', async () => {
    emulator.delayAuth(3_000)
    try {
      const iamPool = pool({ ...baseConfig(), connectionTimeoutMillis: 500 })
      const started = performance.now()
      const error = await iamPool.query('select 1').catch((failure: unknown) => failure)
      // Seconds, not the 10 s throttle budget: generous for a loaded machine, far below what a retry would take.
      expect(performance.now() - started).toBeLessThan(2_500)
      // pg-pool's own "Connection terminated due to connection timeout" comes out as an RdsIamError.
      expect(error).toBeInstanceOf(RdsIamError)
      expect(error).toMatchObject({ code: 'network', message: expect.stringContaining('connection timeout') })
      expect(iamPool.totalCount).toBe(0)
    } finally {
      emulator.delayAuth(0)
    }
  })

  it('reports connectionTimeoutMillis running out while credentials are awaited as credentials, for Pool and Client', async () => {
    const iam = { ...iamBlock(), credentials: () => new Promise<never>(() => {}) }
    const iamPool = pool({ ...baseConfig(), iam, connectionTimeoutMillis: 500 })
    const client = createClient({ ...baseConfig(), iam, connectionTimeoutMillis: 500 })
    // Both are caught at once: the second fails while the first is still awaited.
    const failures = await Promise.all(
      [iamPool.query('select 1'), client.connect()].map((connecting) =>
        connecting.then(
          () => undefined,
          (failure: unknown) => failure,
        ),
      ),
    )
    for (const error of failures) {
      expect(error).toBeInstanceOf(RdsIamError)
      expect(error).toMatchObject({
        code: 'credentials',
        message: expect.stringContaining('the `credentials` provider (iam.credentials)'),
      })
    }
    expect(iamPool.totalCount).toBe(0)
  })

  it('hands pool.connect(callback) a done function on failure too, as pg does', async () => {
    const iamPool = pool(baseConfig())
    emulator.rejectNext(2)
    const done = await new Promise((resolve) => {
      iamPool.connect((error, _client, release) => resolve(error ? release : undefined))
    })
    expect(done).toBeTypeOf('function')
  })

  it('works with no argument when PGHOST, PGPORT, PGUSER and PGDATABASE say everything', async () => {
    const { host, port, user } = emulator.adapterOptions('iam_pg_user')
    const env = { PGHOST: host, PGPORT: String(port), PGUSER: user, PGDATABASE: 'postgres' }
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value)
    try {
      // The emulator's CA comes from the IAM-free part of the config, so only the TLS CA is passed by hand here.
      const created = createPool()
      closers.push(() => created.end())
      expect(created).toBeInstanceOf(pg.Pool)
      const client = createClient()
      expect(client).toBeInstanceOf(pg.Client)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('keeps no token on a client after it connected, at any inspect depth', async () => {
    const iamPool = pool(baseConfig())
    const client = await iamPool.connect()
    client.release()
    const shown = inspect(iamPool, { depth: 12, showHidden: true })
    expect(shown).not.toContain('X-Amz-Signature=')
    expect(shown).not.toContain(emulator.credentials.secretAccessKey)
  })
})

describe('credentials changed at run time', () => {
  // Issue 23: the token cached for an access key id is not handed to a pool whose secret key is another.
  it('a new pool with the same AWS_ACCESS_KEY_ID but a wrong AWS_SECRET_ACCESS_KEY signs its own token, refused', async () => {
    const { credentials, ...iam } = emulator.adapterOptions('iam_pg_user').iam
    const config = (): IamPoolConfig => ({ ...emulator.adapterOptions('iam_pg_user'), iam })
    vi.stubEnv('AWS_PROFILE', '')
    vi.stubEnv('AWS_SESSION_TOKEN', '')
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId)
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey)
    try {
      expect((await pool(config()).query('select 1 as one')).rows).toEqual([{ one: 1 }])
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'a-wrong-secret-access-key-for-this-key-id')
      const error = await pool(config())
        .query('select 1')
        .catch((failure: unknown) => failure)
      expect(error).toBeInstanceOf(RdsIamError)
      expect(error).toMatchObject({ code: 'token-rejected' })
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('createClient', () => {
  it('returns a real pg.Client whose connect() is retried once after a rejection', async () => {
    const events: IamEvent[] = []
    const client = createClient({ ...baseConfig(), iam: iamBlock(events) })
    expect(client).toBeInstanceOf(pg.Client)
    emulator.rejectNext(1)
    await client.connect()
    closers.push(() => client.end())
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    expect(events.filter((event) => event.type === 'auth-retry')).toHaveLength(1)
  })

  it('shares one IAM set-up among clients made from one config object, until the config changes', async () => {
    let providerCalls = 0
    const { credentials } = emulator.adapterOptions('iam_pg_user').iam
    const config = {
      ...baseConfig(),
      application_name: 'first',
      iam: {
        ...iamBlock(),
        credentials: async () => {
          providerCalls++
          return credentials
        },
      },
    }
    // What a request handler does: a client per request from the one config of the module.
    const applicationName = async (): Promise<string> => {
      const client = createClient(config)
      await client.connect()
      try {
        return (await client.query('show application_name')).rows[0].application_name
      } finally {
        await client.end()
      }
    }
    for (let request = 0; request < 3; request++) expect(await applicationName()).toBe('first')
    expect(providerCalls).toBe(1)
    config.application_name = 'second'
    expect(await applicationName()).toBe('second')
    expect(providerCalls).toBe(2)
  })

  it('fails with RdsIamError after the one retry when every token is rejected', async () => {
    const client = createClient(baseConfig())
    emulator.rejectNext(2)
    const error = await client.connect().then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(error).toBeInstanceOf(RdsIamError)
    expect(error).toMatchObject({ code: 'token-rejected' })
  })
})

describe('connectionString', () => {
  const url = (query: string, password = ''): string =>
    `postgres://iam_pg_user${password}@${emulator.host}:${emulator.port}/postgres?${query}`

  it('never lets the URL password override the token, and keeps sslrootcert', async () => {
    const iamPool = pool({
      connectionString: url(
        `sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`,
        ':not-the-token',
      ),
      iam: iamBlock(),
    })
    expect((await iamPool.query('select current_user as who')).rows).toEqual([{ who: 'iam_pg_user' }])
  })

  it("applies the URL's own driver settings, application_name and options, as pg does", async () => {
    const settings = `application_name=rds-iam-url&options=${encodeURIComponent('-c statement_timeout=4321')}`
    const iamPool = pool({
      connectionString: url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}&${settings}`),
      iam: iamBlock(),
    })
    const { rows } = await iamPool.query(
      "select current_setting('application_name') as app, current_setting('statement_timeout') as timeout",
    )
    expect(rows).toEqual([{ app: 'rds-iam-url', timeout: '4321ms' }])
  })

  it('refuses sslmode=disable before dialing', () => {
    expect(() => createPool({ connectionString: url('sslmode=disable'), iam: iamBlock() })).toThrow(
      expect.objectContaining({ code: 'ssl-required' }),
    )
  })

  it('allows sslmode=require with a tls-insecure event', async () => {
    const events: IamEvent[] = []
    const iamPool = pool({ connectionString: url('sslmode=require'), iam: iamBlock(events) })
    expect((await iamPool.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    expect(events.some((event) => event.type === 'tls-insecure')).toBe(true)
  })

  it('verify-full without the CA refuses the emulator certificate', async () => {
    const before = emulator.stats()
    const iamPool = pool({ connectionString: url('sslmode=verify-full'), iam: iamBlock() })
    await expect(iamPool.query('select 1')).rejects.toThrow()
    expect(emulator.stats()).toEqual(before)
    expect(iamPool.totalCount).toBe(0)
  })
})
