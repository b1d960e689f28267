import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { createClient, createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { registerTestSdk, sumOf, type TestSdk } from '../packages/core/src/telemetry/test-sdk'
import type { ConformanceTarget, TargetConfig, TargetPool } from './src/conformance-target'
import { knexTarget } from './src/orm-knex-target'
import { prismaAdapterTarget } from './src/orm-prisma-target'
import { typeormTarget } from './src/orm-typeorm-target'
import { pgClientTarget, pgPoolTarget } from './src/pg-targets'
import { postgresTarget } from './src/postgres-target'

// The SDK and instrumentation-pg as an application sets them up: registered globally, pg patched when required.
const sdk: TestSdk = registerTestSdk()
const instrumentation = new PgInstrumentation()
const requireHere = createRequire(import.meta.url)
requireHere('pg')
createRequire(requireHere.resolve('pg'))('pg-pool')

let emulator: Emulator
const pools: Array<Pick<TargetPool, 'end'>> = []

beforeAll(async () => {
  emulator = await startEmulator({ upstream: inject('postgres') })
})
afterEach(async () => {
  emulator.setTokenLifetime(900)
  emulator.throttle(null)
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
  await sdk.reset()
})
afterAll(async () => {
  instrumentation.disable()
  await sdk.shutdown()
  await emulator?.close()
})

let users = 0
async function iamUser(): Promise<string> {
  const user = `otel_user_${++users}`
  await emulator.createIamUser(user)
  return user
}

function open(target: ConformanceTarget, user: string, retry = {}): TargetPool {
  const { iam, ...options } = emulator.adapterOptions(user)
  const config: TargetConfig = { ...options, iam: { ...iam, retry }, max: 3 }
  const pool = target.createPool(config)
  pools.push(pool)
  return pool
}

async function openPgPool(): Promise<pg.Pool> {
  const pool = createPool({ ...emulator.adapterOptions(await iamUser()), max: 1 })
  pools.push(pool)
  return pool
}

const named = (name: string): ReadableSpan[] => sdk.spans().filter((span) => span.name === name)
const parentOf = (span: ReadableSpan | undefined): ReadableSpan | undefined =>
  sdk.spans().find((candidate) => candidate.spanContext().spanId === span?.parentSpanContext?.spanId)

// Everything the exporters received, as one string.
async function exported(): Promise<string> {
  const spans = sdk
    .spans()
    .map(({ name, attributes, events, status }) => ({ name, attributes, events, status }))
  return JSON.stringify({ spans, metrics: await sdk.metrics() })
}

async function expectNoSecrets(): Promise<void> {
  const shown = await exported()
  expect(shown).toContain('rds_iam.sign_in')
  expect(shown).not.toMatch(/X-Amz-Signature=(?!\[redacted\])/)
  expect(shown).not.toContain('Action=connect')
  expect(shown).not.toContain(emulator.credentials.secretAccessKey)
}

const targets = [
  pgPoolTarget('pg Pool'),
  pgClientTarget('pg Client'),
  postgresTarget('postgres.js'),
  knexTarget('Knex'),
  typeormTarget('TypeORM'),
  prismaAdapterTarget('Prisma'),
]

describe.each(targets)('$name with the OpenTelemetry SDK', (target) => {
  it('an expired token: the retry is a sign-in span with a failed attempt, counted by reason', async () => {
    const user = await iamUser()
    const pool = open(target, user)
    const first = await pool.hold()
    // The cached token outlives what the server now allows; the next connection's sign-in with it is refused.
    emulator.setTokenLifetime(1)
    await sleep(1_200)
    const expired = emulator.stats().rejected.expired ?? 0
    const second = await pool.hold()
    expect(await second.query('select 1 as one')).toEqual([{ one: 1 }])
    await Promise.all([first.release(), second.release()])
    expect(emulator.stats().rejected.expired).toBe(expired + 1)

    const tokens = named('rds_iam.token')
    // Signed for the first connection, handed from the cache to the second, signed again for its retry (postgres.js
    // hands the cached one out twice: to the connection that failed, and to the retry's first attempt).
    const sources = tokens.map((span) => span.attributes['rds_iam.token.source'])
    expect(sources[0]).toBe('signed')
    expect(sources.slice(1, -1)).toContain('cache')
    expect(sources.slice(1, -1).every((source) => source === 'cache')).toBe(true)
    expect(sources.at(-1)).toBe('signed')
    const [signIn, ...others] = named('rds_iam.sign_in').filter((span) => span.events.length > 0)
    expect(others).toHaveLength(0)
    expect(signIn?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'server.address': emulator.host,
      'server.port': emulator.port,
      'db.namespace': 'postgres',
      'rds_iam.user': user,
      'rds_iam.sign_in.attempts': 2,
    })
    expect(signIn?.events[0]?.attributes).toEqual({
      'rds_iam.retry.reason': 'token-rejected',
      'rds_iam.attempt': 2,
    })
    const attempts = named('rds_iam.connect_attempt').filter((span) => parentOf(span) === signIn)
    expect(attempts.map((span) => span.attributes['error.type'])).toEqual(['token-rejected', undefined])
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.sign_in.retries', { 'rds_iam.retry.reason': 'token-rejected' })).toBe(1)
    expect(sumOf(points, 'rds_iam.token.signed', { 'server.address': emulator.host })).toBe(2)
    expect(sumOf(points, 'rds_iam.token.cache_hits')).toBe(sources.length - 2)
    await expectNoSecrets()
  })

  it('a throttled endpoint: throttling and retries are counted, every connection gets in', async () => {
    const user = await iamUser()
    const pool = open(target, user, { baseDelayMs: 200, maxThrottleMs: 20_000 })
    emulator.throttle(1)
    const held = await Promise.all([pool.hold(), pool.hold(), pool.hold()])
    await Promise.all(held.map((connection) => connection.release()))
    const points = await sdk.metrics()
    const throttled = sumOf(points, 'rds_iam.sign_in.throttled')
    expect(throttled).toBeGreaterThan(0)
    expect(sumOf(points, 'rds_iam.sign_in.retries', { 'rds_iam.retry.reason': 'throttled' })).toBe(throttled)
    const failed = named('rds_iam.connect_attempt').filter(
      (span) => span.attributes['error.type'] === 'throttled',
    )
    expect(failed.length).toBe(throttled)
    expect(failed.every((span) => span.attributes['db.response.status_code'] === '57014')).toBe(true)
    await expectNoSecrets()
  })
})

describe('alongside @opentelemetry/instrumentation-pg', () => {
  it("a pool's token span is a child of pg.connect, under the sign-in span, under pg-pool.connect", async () => {
    const pool = await openPgPool()
    const request = trace.getTracer('app').startSpan('GET /orders')
    await context.with(trace.setSpan(context.active(), request), () => pool.query('select 1'))
    request.end()
    const [token] = named('rds_iam.token')
    const connect = parentOf(token)
    expect(connect?.name).toBe('pg.connect')
    const signIn = parentOf(connect)
    expect(signIn?.name).toBe('rds_iam.sign_in')
    expect(signIn?.attributes['rds_iam.sign_in.attempts']).toBe(1)
    expect(parentOf(signIn)?.name).toBe('pg-pool.connect')
    expect(parentOf(parentOf(signIn))?.name).toBe('GET /orders')
    // Both name the same server the same way.
    expect(token?.attributes['server.address']).toBe(connect?.attributes['server.address'])
    expect(token?.attributes['server.port']).toBe(connect?.attributes['server.port'])
    expect(sumOf(await sdk.metrics(), 'rds_iam.sign_in.duration', { 'server.address': emulator.host })).toBe(
      1,
    )
  })

  it("a pool's rejected first sign-in ends with its error; the retry's new attempt holds pg-pool.connect", async () => {
    const pool = await openPgPool()
    emulator.rejectNext(1)
    await pool.query('select 1')
    // The emulator's own connections to its PostgreSQL are traced too: only those to the emulator count here.
    const connects = named('pg.connect').filter((span) => span.attributes['server.port'] === emulator.port)
    expect(connects.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET])
    const [first, retried] = named('rds_iam.sign_in')
    expect(parentOf(connects[0])).toBe(first)
    expect(first?.attributes['error.type']).toBe('token-rejected')
    // The retry replays the first failure as its first attempt, then opens a new client.
    expect(retried?.attributes['rds_iam.sign_in.attempts']).toBe(2)
    const [, second] = named('rds_iam.connect_attempt').filter((span) => parentOf(span) === retried)
    const poolConnect = named('pg-pool.connect').find((span) => parentOf(span) === second)
    expect(poolConnect).toBeDefined()
    expect(parentOf(connects[1])).toBe(poolConnect)
    // One sign-in as far as its duration goes: the retry's.
    expect(sumOf(await sdk.metrics(), 'rds_iam.sign_in.duration')).toBe(1)
  })

  it("a Client's sign-in span holds its attempts, each holding pg.connect, which holds the token span", async () => {
    const client = createClient(emulator.adapterOptions(await iamUser()))
    emulator.rejectNext(1)
    await client.connect()
    await client.end()
    const [signIn] = named('rds_iam.sign_in')
    const attempts = named('rds_iam.connect_attempt')
    expect(attempts.map((span) => parentOf(span))).toEqual([signIn, signIn])
    for (const attempt of attempts) {
      const connect = named('pg.connect').find((span) => parentOf(span) === attempt)
      expect(connect).toBeDefined()
      expect(named('rds_iam.token').filter((span) => parentOf(span) === connect)).toHaveLength(1)
    }
  })
})

describe('postgres.js', () => {
  async function openSql(): Promise<ReturnType<typeof createSql>> {
    const sql = createSql({ ...emulator.adapterOptions(await iamUser()), max: 1 })
    pools.push({ end: () => sql.end({ timeout: 5 }) })
    return sql
  }

  it("a first connect is one sign-in span, under the caller's span, holding the token span, with its duration", async () => {
    const sql = await openSql()
    const request = trace.getTracer('app').startSpan('GET /orders')
    await context.with(trace.setSpan(context.active(), request), async () => {
      await sql`select 1`
    })
    request.end()
    const signIns = named('rds_iam.sign_in')
    expect(signIns).toHaveLength(1)
    const [signIn] = signIns
    expect(signIn?.attributes).toMatchObject({
      'server.address': emulator.host,
      'server.port': emulator.port,
      'rds_iam.sign_in.attempts': 1,
      'rds_iam.region': emulator.region,
    })
    expect(signIn?.attributes['error.type']).toBeUndefined()
    expect(signIn?.status.code).toBe(SpanStatusCode.UNSET)
    expect(parentOf(signIn)?.name).toBe('GET /orders')
    const [token] = named('rds_iam.token')
    expect(parentOf(token)).toBe(signIn)
    // The span lasts until the server is ready for queries, after it took the token: longer than the token's.
    const lasted = (span: ReadableSpan | undefined): number =>
      span ? span.duration[0] * 1e9 + span.duration[1] : Number.NaN
    expect(lasted(signIn)).toBeGreaterThan(lasted(token))
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.sign_in.duration', { 'server.address': emulator.host })).toBe(1)
    await expectNoSecrets()
  })

  it('a first connect whose token is rejected ends its span with the error; the query retry and the new connection follow', async () => {
    const sql = await openSql()
    emulator.rejectNext(1)
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }])
    const signIns = named('rds_iam.sign_in')
    const [first] = signIns
    expect(first?.attributes).toMatchObject({
      'error.type': 'token-rejected',
      'db.response.status_code': '28000',
      'rds_iam.sign_in.attempts': 1,
    })
    expect(first?.status.code).toBe(SpanStatusCode.ERROR)
    expect(parentOf(named('rds_iam.token')[0])).toBe(first)
    // The query's retry, as with pg: the failure replayed as its first attempt, then the query sent again.
    const retried = signIns.filter((span) => span.events.length > 0)
    expect(retried).toHaveLength(1)
    expect(retried[0]?.attributes['rds_iam.sign_in.attempts']).toBe(2)
    expect(retried[0]?.attributes['error.type']).toBeUndefined()
    // With max: 1, postgres.js opens the connection again itself, for its queue: a sign-in of its own, which holds
    // the token span of the fresh token.
    const opened = signIns.filter((span) => span !== first && span.events.length === 0)
    expect(opened).toHaveLength(1)
    expect(opened[0]?.attributes['rds_iam.sign_in.attempts']).toBe(1)
    expect(opened[0]?.status.code).toBe(SpanStatusCode.UNSET)
    const fresh = named('rds_iam.token').filter(
      (span) => span.attributes['rds_iam.token.source'] === 'signed',
    )
    expect(fresh.map(parentOf)).toEqual([first, opened[0]])
    // Each counted once: the failed first sign-in is the retry's.
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.sign_in.duration')).toBe(2)
    expect(sumOf(points, 'rds_iam.sign_in.duration', { 'error.type': 'token-rejected' })).toBe(0)
    await expectNoSecrets()
  })

  it('a first connect refused at startup for good fails its sign-in span with the SQLSTATE', async () => {
    const user = await iamUser()
    const sql = createSql({ ...emulator.adapterOptions(user, 'no_such_database'), max: 1 })
    pools.push({ end: () => sql.end({ timeout: 5 }) })
    await expect(sql`select 1`).rejects.toMatchObject({ code: '3D000' })
    const [first] = named('rds_iam.sign_in')
    expect(first?.attributes).toMatchObject({ 'error.type': '3D000', 'db.response.status_code': '3D000' })
    expect(parentOf(named('rds_iam.token')[0])).toBe(first)
  })
})
