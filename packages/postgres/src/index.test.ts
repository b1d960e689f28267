import { createHook } from 'node:async_hooks'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect as dial, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect, types } from 'node:util'
import { createIamAuth, type IamEvent, RdsIamError } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import postgres from 'postgres'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { createSql, type IamSqlOptions } from './index'

let emulator: Emulator
const opened: postgres.Sql[] = []

beforeAll(async () => {
  emulator = await startEmulator({ upstream: inject('postgres') })
  await emulator.createIamUser('pgjs_adapter_user')
  await emulator.query('create table if not exists pgjs_sent (id serial primary key)')
  await emulator.query('grant all on pgjs_sent, pgjs_sent_id_seq to pgjs_adapter_user')
})
afterEach(async () => {
  vi.unstubAllEnvs()
  emulator.delayAuth(0)
  emulator.throttle(null)
  await Promise.all(opened.splice(0).map((sql) => sql.end({ timeout: 5 })))
})
afterAll(async () => {
  await emulator?.close()
})

function options(events: IamEvent[] = []): IamSqlOptions {
  const base = emulator.adapterOptions('pgjs_adapter_user')
  return { ...base, onnotice: () => {}, iam: { ...base.iam, onEvent: (event) => events.push(event) } }
}

function open(sql: postgres.Sql): postgres.Sql {
  opened.push(sql)
  return sql
}

const retries = (events: IamEvent[]): number => events.filter((event) => event.type === 'auth-retry').length

describe('createSql', () => {
  it('takes a URL whose password never overrides the token', async () => {
    const url = `postgres://pgjs_adapter_user:not-the-token@${emulator.host}:${emulator.port}/postgres`
    const { host, port, user, ...rest } = options()
    const sql = open(createSql(url, rest))
    expect(await sql`select current_user as who`).toEqual([{ who: 'pgjs_adapter_user' }])
  })

  it("applies the URL's own server parameters and options, as postgres.js does", async () => {
    const query = `application_name=rds-iam-url&options=${encodeURIComponent('-c statement_timeout=4321')}`
    const url = `postgres://pgjs_adapter_user@${emulator.host}:${emulator.port}/postgres?sslmode=verify-full&${query}`
    const { host, port, user, ...rest } = options()
    const sql = open(createSql(url, rest))
    expect(
      await sql`select current_setting('application_name') as app, current_setting('statement_timeout') as timeout`,
    ).toEqual([{ app: 'rds-iam-url', timeout: '4321ms' }])
  })

  it('shares one IAM set-up among sql made from one options object, until the options change', async () => {
    let providerCalls = 0
    const base = options()
    const requestOptions: IamSqlOptions = {
      ...base,
      connection: { application_name: 'first' },
      iam: {
        ...base.iam,
        credentials: async () => {
          providerCalls++
          return emulator.credentials
        },
      },
    }
    // What a request handler does: a `sql` per request from the one options object of the module.
    const applicationName = async (): Promise<unknown> => {
      const sql = createSql(requestOptions)
      try {
        const [row] = await sql`select current_setting('application_name') as app`
        return row?.app
      } finally {
        await sql.end()
      }
    }
    for (let request = 0; request < 3; request++) expect(await applicationName()).toBe('first')
    expect(providerCalls).toBe(1)
    requestOptions.connection = { application_name: 'second' }
    expect(await applicationName()).toBe('second')
    expect(providerCalls).toBe(2)
  })

  it('sends a query again once when its connection was rejected for the token', async () => {
    const events: IamEvent[] = []
    const sql = open(createSql(options(events)))
    emulator.rejectNext(1)
    expect(await sql`select ${41}::int + 1 as answer`).toEqual([{ answer: 42 }])
    expect(retries(events)).toBe(1)
  })

  it('keeps the query helpers: values(), unsafe() and transactions retry too', async () => {
    const events: IamEvent[] = []
    const sql = open(createSql(options(events)))
    emulator.rejectNext(1)
    expect(await sql`select 1 as one, 2 as two`.values()).toEqual([[1, 2]])
    await sql.end()
    opened.pop()
    const again = open(createSql(options(events)))
    emulator.rejectNext(1)
    const total = await again.begin(async (tx) => (await tx`select 2 + 3 as total`)[0]?.total)
    expect(total).toBe(5)
    expect(retries(events)).toBe(2)
  })

  it('leaves cursors and forEach working', async () => {
    const sql = open(createSql(options()))
    const batches: number[][] = []
    for await (const rows of sql`select generate_series(1, 5) as n`.cursor(2)) {
      batches.push(rows.map((row) => row.n as number))
    }
    expect(batches).toEqual([[1, 2], [3, 4], [5]])
    const seen: number[] = []
    await sql`select generate_series(1, 3) as n`.forEach((row) => {
      seen.push(row.n as number)
    })
    expect(seen).toEqual([1, 2, 3])
  })

  it('never sends a query twice: a connection lost after sending fails without a retry', async () => {
    const events: IamEvent[] = []
    const sql = open(createSql(options(events)))
    await sql`select 1`
    const before = (await emulator.query('select count(*)::int as n from pgjs_sent'))[0]?.n as number
    const running = sql`insert into pgjs_sent default values returning (select pg_sleep(2)) as slept`.then(
      () => undefined,
      (error: unknown) => error,
    )
    await waitFor(
      async () =>
        (await emulator.query("select 1 from pg_stat_activity where query like 'insert into pgjs_sent%'"))
          .length === 1,
    )
    emulator.dropConnections()
    const error = await running
    expect(error).toBeInstanceOf(Error)
    expect(error).not.toBeInstanceOf(RdsIamError)
    expect(retries(events)).toBe(0)
    const after = (await emulator.query('select count(*)::int as n from pgjs_sent'))[0]?.n as number
    expect(after - before).toBeLessThanOrEqual(1)
  })

  it('fails a query after sql.end() at once instead of backing off', async () => {
    const events: IamEvent[] = []
    const sql = createSql(options(events))
    await sql`select 1`
    await sql.end()
    const started = Date.now()
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' })
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(retries(events)).toBe(0)
  })

  it('fails with RdsIamError token-rejected after the one retry', async () => {
    const sql = open(createSql(options()))
    emulator.rejectNext(2)
    const error = await sql`select 1`.then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(error).toBeInstanceOf(RdsIamError)
    expect(error).toMatchObject({ code: 'token-rejected' })
  })
})

describe('settings', () => {
  it('lets explicit options win over the URL, as postgres.js does', async () => {
    const { user, ...rest } = options()
    const url = `postgres://someone_else@${emulator.host}:${emulator.port}/postgres`
    const sql = open(createSql(url, { ...rest, user }))
    expect(await sql`select current_user as who`).toEqual([{ who: 'pgjs_adapter_user' }])
  })

  it('waits at most 2 s to reconnect after errors, unless options, the URL or PGBACKOFF choose the delay', () => {
    const delayOf = (sql: postgres.Sql, retries: number): number => {
      const { backoff } = sql.options as unknown as { backoff: number | ((retries: number) => number) }
      return typeof backoff === 'function' ? backoff(retries) : backoff
    }
    // postgres.js's own delay reaches 10-20 s once about 8 connections closed with an error (a failover of max 8).
    const plain = open(postgres({ host: emulator.host, port: emulator.port }))
    expect(delayOf(plain, 8)).toBeGreaterThanOrEqual(10)
    const byDefault = open(createSql(options()))
    const delays = Array.from({ length: 40 }, (_, retries) => delayOf(byDefault, retries % 20))
    expect(Math.max(...delays)).toBeLessThanOrEqual(2)
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(1)
    expect(delayOf(byDefault, 1)).toBeLessThan(0.04)

    expect(delayOf(open(createSql({ ...options(), backoff: () => 5 })), 8)).toBe(5)
    const url = `postgres://pgjs_adapter_user@${emulator.host}:${emulator.port}/postgres?backoff=3`
    const { host, port, user, ...rest } = options()
    expect(delayOf(open(createSql(url, rest)), 8)).toBe(3)
    vi.stubEnv('PGBACKOFF', '4')
    expect(delayOf(open(createSql(options())), 8)).toBe(4)
  })
})

describe('the query path', () => {
  // Promises created per query, counted by an async hook: an async wrapper or a retry per query creates several.
  // The fewest of a few rounds, since the test runner's own messages add promises at random moments.
  async function promisesPerQuery(sql: postgres.Sql, rounds = 3, queries = 40): Promise<number> {
    await sql`select 1 as one`
    const counts: number[] = []
    for (let round = 0; round < rounds; round++) {
      let created = 0
      const hook = createHook({
        init: (_id, type) => {
          if (type === 'PROMISE') created++
        },
      }).enable()
      try {
        for (let query = 0; query < queries; query++) await sql`select 1 as one`
      } finally {
        hook.disable()
      }
      counts.push(created / queries)
    }
    return Math.min(...counts)
  }

  it('runs a query on an open connection as plain postgres.js does: no wrapper, no token lookup', async () => {
    const events: IamEvent[] = []
    const iamSql = open(createSql({ ...options(events), max: 1 }))
    const base = emulator.adapterOptions('pgjs_adapter_user')
    const token = await createIamAuth({
      ...base.iam,
      host: base.host,
      port: base.port,
      user: base.user,
    }).getToken()
    const plainSql = open(
      postgres({
        host: base.host,
        port: base.port,
        user: base.user,
        database: base.database,
        pass: token,
        ssl: { ca: base.ssl.ca, servername: emulator.endpoint },
        max: 1,
        onnotice: () => {},
      }),
    )
    const plain = await promisesPerQuery(plainSql)
    await iamSql`select 1 as one`
    const eventsBefore = events.length
    const iam = await promisesPerQuery(iamSql)
    expect(iam).toBeLessThanOrEqual(plain)
    expect(events.slice(eventsBefore)).toEqual([])
  })

  // V8 runs postgres.js's query path several microseconds slower when its tagged template is called through a
  // Proxy, so the sql handed out is a plain function that carries every property postgres.js gives its own.
  it('hands out a plain function with all of postgres.js sql properties, not a Proxy', async () => {
    const iamSql = open(createSql(options([])))
    const plainSql = open(postgres({ host: '127.0.0.1', max: 1 }))
    expect(types.isProxy(iamSql)).toBe(false)
    expect(Reflect.ownKeys(iamSql).sort()).toEqual(Reflect.ownKeys(plainSql).sort())
    expect(iamSql.options.host).toEqual([emulator.adapterOptions('pgjs_adapter_user').host])
    const [row] = await iamSql.begin((transaction) => transaction`select 1 as one`)
    expect(row).toEqual({ one: 1 })
  })
})

describe('failures before the first query is sent', () => {
  it('gives every waiting query a credentials error, without an unhandled rejection, when no token can be made', async () => {
    const unhandled: unknown[] = []
    const record = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', record)
    const folder = mkdtempSync(join(tmpdir(), 'pgjs-credentials-'))
    try {
      // The SDK's own process provider, failing the way a broken `credential_process` does.
      writeFileSync(
        join(folder, 'config'),
        `[profile broken]\ncredential_process = sh -c "echo 'credential process is down (test)' >&2; exit 1"\n`,
      )
      writeFileSync(join(folder, 'credentials'), '')
      vi.stubEnv('AWS_CONFIG_FILE', join(folder, 'config'))
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(folder, 'credentials'))
      const { credentials: _credentials, ...iam } = options().iam ?? {}
      const sql = open(
        createSql({ ...options(), max: 2, connect_timeout: 20, iam: { ...iam, profile: 'broken' } }),
      )
      const started = Date.now()
      const failures = await Promise.all(
        Array.from({ length: 6 }, (_, index) => failureOf(sql`select ${index}::int as n`)),
      )
      // Well within the connect timeout; postgres.js alone would wait for it, then report CONNECT_TIMEOUT.
      expect(Date.now() - started).toBeLessThan(15_000)
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(RdsIamError)
        expect(failure).toMatchObject({ code: 'credentials' })
        expect(causesOf(failure).join('\n')).toContain('credential process is down (test)')
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', record)
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it('bounds a server that closes every new connection unanswered by connect_timeout, without a dialing storm', async () => {
    const events: IamEvent[] = []
    const sql = open(createSql({ ...options(events), connect_timeout: 1 }))
    emulator.refuseNew(true)
    try {
      const started = Date.now()
      const failure = await failureOf(sql`select 1`)
      expect(failure).toBeInstanceOf(RdsIamError)
      expect(failure).toMatchObject({ code: 'network' })
      // Seconds, not forever: generous for a loaded machine.
      expect(Date.now() - started).toBeLessThan(10_000)
      // Paced: a handful of dials a second, where postgres.js alone redials thousands of times.
      expect(events.filter((event) => event.type === 'token-reused').length).toBeLessThan(100)
    } finally {
      emulator.refuseNew(false)
    }
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }])
  })

  it('connects again on the same sql once a failing credential provider is back', async () => {
    const { credentials: _credentials, ...iam } = options().iam ?? {}
    let down = true
    const provider = async () => {
      if (down) throw new Error('provider down (test)')
      return emulator.credentials
    }
    const sql = open(
      createSql({ ...options(), max: 4, connect_timeout: 5, iam: { ...iam, credentials: provider } }),
    )
    const during = await Promise.all(Array.from({ length: 8 }, () => failureOf(sql`select 1`)))
    for (const failure of during) expect(failure).toMatchObject({ code: 'credentials' })
    down = false
    // The provider's backoff lasts at most a second.
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    const after = await Promise.all(Array.from({ length: 8 }, (_, index) => sql`select ${index}::int as n`))
    expect(after.map(([row]) => row?.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('bounds a credential provider that never answers by connect_timeout', async () => {
    const { credentials: _credentials, ...iam } = options().iam ?? {}
    const hanging = (): Promise<never> => new Promise(() => {})
    const sql = open(createSql({ ...options(), connect_timeout: 1, iam: { ...iam, credentials: hanging } }))
    const started = Date.now()
    const failure = await failureOf(sql`select 1`)
    expect(failure).toBeInstanceOf(RdsIamError)
    expect(failure).toMatchObject({
      code: 'credentials',
      message: expect.stringContaining('connect timeout'),
    })
    // Seconds, not forever: generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('reports a connect that outlives connect_timeout as network, without retrying it', async () => {
    const events: IamEvent[] = []
    const sql = open(createSql({ ...options(events), connect_timeout: 1 }))
    emulator.delayAuth(20_000)
    const started = Date.now()
    const failure = await failureOf(sql`select 1`)
    expect(failure).toBeInstanceOf(RdsIamError)
    expect(failure).toMatchObject({ code: 'network' })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(retries(events)).toBe(0)
  })

  it('stops backing off from a throttled endpoint when connect_timeout runs out', async () => {
    const events: IamEvent[] = []
    const base = options(events)
    // Without the connect timeout the backoff would go on for the 30 s of maxThrottleMs.
    const sql = open(
      createSql({ ...base, connect_timeout: 2, iam: { ...base.iam, retry: { maxThrottleMs: 30_000 } } }),
    )
    emulator.throttle(0)
    const started = Date.now()
    const failure = await failureOf(sql`select 1`)
    expect(failure).toBeInstanceOf(RdsIamError)
    expect(failure).toMatchObject({ code: 'throttled' })
    expect(retries(events)).toBeGreaterThan(0)
    expect(Date.now() - started).toBeLessThan(15_000)
  })
})

describe('a cancel while the connect backs off', () => {
  it('ends the query with the cancel and tries no more connects for it', async () => {
    const events: IamEvent[] = []
    const base = options(events)
    const sql = open(
      createSql({
        ...base,
        max: 1,
        connect_timeout: 20,
        iam: { ...base.iam, retry: { maxThrottleMs: 20_000 } },
      }),
    )
    emulator.throttle(0)
    const query = sql`select 1 as one`
    const failure = failureOf(query)
    await vi.waitFor(() => expect(retries(events)).toBeGreaterThan(0), { timeout: 10_000 })
    await query.cancel()
    expect(await failure).toMatchObject({ code: '57014' })
    const retriesAfterCancel = retries(events)
    // A retry still running for the cancelled query would fail again within this time, while throttled.
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    expect(retries(events)).toBe(retriesAfterCancel)
    emulator.throttle(null)
    expect(await sql`select 2 as two`).toEqual([{ two: 2 }])
  })
})

describe('where it connects', () => {
  it('dials an IPv6 host as given, in options or in brackets in a URL: ::1 is not localhost', async () => {
    const relay = await startRelay('::1', emulator.port)
    try {
      const { host: _host, port: _port, user, ...base } = options()
      const iam = { ...base.iam, tokenPort: emulator.port }
      const viaOptions = open(createSql({ ...base, user, host: '::1', port: relay.port, iam }))
      const viaUrl = open(createSql(`postgres://${user}@[::1]:${relay.port}/postgres`, { ...base, iam }))
      for (const sql of [viaOptions, viaUrl]) {
        expect(await sql`select current_user as who`).toEqual([{ who: 'pgjs_adapter_user' }])
      }
      expect(relay.accepted).toEqual(['::1', '::1'])
    } finally {
      await relay.close()
    }
  })

  it('takes everything from PGHOST, PGUSER and the rest when called with no argument or null', async () => {
    // Tokens signed for the host PGHOST names: an emulator that serves as 127.0.0.1.
    const local = await startEmulator({ upstream: inject('postgres'), endpoint: '127.0.0.1' })
    const folder = mkdtempSync(join(tmpdir(), 'pgjs-env-'))
    try {
      await local.createIamUser('pgjs_env_user')
      writeFileSync(join(folder, 'ca.pem'), local.ca)
      const env = {
        PGHOST: local.host,
        PGPORT: String(local.port),
        PGUSER: 'pgjs_env_user',
        PGDATABASE: 'postgres',
        PGSSLROOTCERT: join(folder, 'ca.pem'),
        AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey,
        AWS_SESSION_TOKEN: '',
        AWS_PROFILE: '',
        AWS_REGION: local.region,
      }
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value)
      // null too, as plain postgres.js accepts it from JavaScript callers.
      for (const sql of [open(createSql()), open(createSql(null as unknown as undefined))]) {
        expect(await sql`select current_user as who, current_database() as db`).toEqual([
          { who: 'pgjs_env_user', db: 'postgres' },
        ])
      }
    } finally {
      await Promise.all(opened.splice(0).map((sql) => sql.end({ timeout: 5 })))
      await local.close()
      rmSync(folder, { recursive: true, force: true })
    }
  })
})

describe('secrets', () => {
  it('shows no token or key in inspect or JSON of the sql, its options or its errors', async () => {
    const sql = open(createSql(options()))
    emulator.rejectNext(1)
    await sql`select 1`
    emulator.rejectNext(2)
    const failure = await failureOf(sql`select 1`)
    const shown = [
      inspect(sql, { depth: 12, showHidden: true }),
      inspect(sql.options, { depth: 12, showHidden: true }),
      JSON.stringify(sql.options),
      inspect(failure, { depth: 12, showHidden: true }),
      JSON.stringify(failure),
    ].join('\n')
    for (const secret of [
      'X-Amz-Signature',
      'X-Amz-Credential',
      'Action=connect',
      emulator.credentials.secretAccessKey,
    ]) {
      expect(shown).not.toContain(secret)
    }
  })
})

function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (failure: unknown) => failure,
  )
}

function causesOf(error: unknown): string[] {
  const messages: string[] = []
  for (let current = error; current instanceof Error; current = current.cause) messages.push(current.message)
  return messages
}

interface Relay {
  port: number
  // The local address of each connection it accepted.
  accepted: string[]
  close(): Promise<void>
}

// A TCP relay to the emulator listening only on `host`, so a client that dials another address misses it.
async function startRelay(host: string, targetPort: number): Promise<Relay> {
  const accepted: string[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    accepted.push(client.localAddress ?? '')
    const upstream = dial(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the relay is not listening on TCP')
  return {
    port: address.port,
    accepted,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
