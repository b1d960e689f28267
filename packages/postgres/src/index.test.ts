import { type IamEvent, RdsIamError } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import type postgres from 'postgres'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
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
})

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
