import { type IamEvent, RdsIamError } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { createKnex, iamConnection } from '@rds-iam/knex'
import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
// The example's own migrations, so the test checks what the example ships.
import { migrationSource } from '../examples/knex/src/migrations'
import { expectIdleConnectionDropSurvived } from './src/orm-failover'

// What Knex users do besides pooled queries: migrations, a URL, and the `connection` value for their own config.
describe('knex features through the emulator', () => {
  let emulator: Emulator
  const instances: Knex[] = []

  beforeAll(async () => {
    emulator = await startEmulator({ upstream: inject('postgres') })
  })
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.destroy()))
    await emulator?.close()
  })

  function keep(instance: Knex): Knex {
    instances.push(instance)
    return instance
  }

  it('knex.migrate.latest() runs through createKnex', async () => {
    await emulator.createIamUser('knex_migrator')
    // Tables land in the user's own schema (first on PostgreSQL's default search_path), apart from other tests.
    await emulator.query('create schema if not exists knex_migrator authorization knex_migrator')
    const db = keep(
      createKnex({ connection: emulator.adapterOptions('knex_migrator'), pool: { min: 0, max: 2 } }),
    )
    const [, applied] = await db.migrate.latest({ migrationSource })
    expect(applied).toEqual(['20250101000000_create_knex_notes'])
    await db('knex_notes').insert({ body: 'signed in with IAM' })
    expect(await db('knex_notes').select('body')).toEqual([{ body: 'signed in with IAM' }])
  })

  it('a connection URL works, a password in it is not used, and its application_name is', async () => {
    await emulator.createIamUser('knex_url')
    const { iam, ssl } = emulator.adapterOptions('knex_url')
    const url = `postgres://knex_url:not-the-password@${emulator.host}:${emulator.port}/postgres?application_name=knex-url`
    const viaCreateKnex = keep(
      createKnex({ connection: { connectionString: url, iam, ssl }, pool: { min: 0, max: 1 } }),
    )
    const viaStockKnex = keep(
      knex({
        client: 'pg',
        connection: iamConnection({ connectionString: url, iam, ssl }),
        pool: { min: 0, max: 1 },
      }),
    )
    for (const db of [viaCreateKnex, viaStockKnex]) {
      expect(
        (await db.raw("select current_user as who, current_setting('application_name') as app")).rows,
      ).toEqual([{ who: 'knex_url', app: 'knex-url' }])
    }
  })

  it('iamConnection gives stock knex a fresh token for every connection, also after 15 minutes', async () => {
    await emulator.createIamUser('knex_stock')
    const events: IamEvent[] = []
    let skewMs = 0
    const options = emulator.adapterOptions('knex_stock')
    const connection = iamConnection({
      ...options,
      iam: {
        ...options.iam,
        clock: { now: () => Date.now() + skewMs },
        onEvent: (event) => events.push(event),
      },
    })
    const db = keep(knex({ client: 'pg', connection, pool: { min: 0, max: 2 } }))
    const first = await db.transaction()
    expect((await first.raw('select current_user as who')).rows).toEqual([{ who: 'knex_stock' }])
    skewMs = 16 * 60_000
    const second = await db.transaction()
    expect((await second.raw('select 1 as one')).rows).toEqual([{ one: 1 }])
    await Promise.all([first.commit(), second.commit()])
    expect(events.filter((event) => event.type === 'token-generated')).toHaveLength(2)
  })

  // Why iamConnection cannot do what createKnex does (packages/knex/README.md): pg's connectionTimeoutMillis ends the
  // connect with an error of pg's own, which Knex's stock dialect hands to the query; no Knex hook sees it. Pinned
  // so that the README is corrected if a Knex or pg release changes that.
  describe('pg connectionTimeoutMillis during the sign-in', () => {
    const never = (): Promise<never> => new Promise(() => {})
    const timeoutMs = 400
    // pg's Client ends its socket with this error; Knex's pool (tarn) passes it on as it is.
    const rawTimeout = 'timeout expired'

    async function failure(db: Knex): Promise<unknown> {
      return db.raw('select 1').then(
        () => undefined,
        (error: unknown) => error,
      )
    }

    it.each([
      [
        'credentials are awaited',
        'credentials',
        (options: ReturnType<Emulator['adapterOptions']>) => ({
          ...options,
          iam: { ...options.iam, credentials: never, credentialsTimeoutMs: 30_000 },
        }),
      ],
      ['the sign-in is slow', 'network', (options: ReturnType<Emulator['adapterOptions']>) => options],
    ] as const)(
      "when %s: createKnex fails with a %s RdsIamError, stock Knex with iamConnection with pg's own error",
      async (_, code, settings) => {
        const user = `knex_timeout_${code}`
        await emulator.createIamUser(user)
        const connection = { ...settings(emulator.adapterOptions(user)), connectionTimeoutMillis: timeoutMs }
        const pool = { min: 0, max: 1, propagateCreateError: true }
        // Knex logs each failed acquire; the test reads the errors themselves.
        const log = { warn: () => {}, error: () => {}, debug: () => {}, deprecate: () => {} }
        const viaCreateKnex = keep(createKnex({ connection, pool, log }))
        const viaStockKnex = keep(knex({ client: 'pg', connection: iamConnection(connection), pool, log }))
        if (code === 'network') emulator.delayAuth(timeoutMs * 5)
        try {
          const [own, stock] = await Promise.all([failure(viaCreateKnex), failure(viaStockKnex)])
          expect(own, String(own)).toBeInstanceOf(RdsIamError)
          expect(own).toMatchObject({ code })
          expect(stock).not.toBeInstanceOf(RdsIamError)
          expect(stock).toMatchObject({ message: rawTimeout })
        } finally {
          emulator.delayAuth(0)
        }
      },
    )
  })

  // createKnex refuses it in the conformance suite; JavaScript callers can still pass what the types forbid.
  it('iamConnection refuses TLS off when it is called', () => {
    expect(() => iamConnection({ ...emulator.adapterOptions('nobody'), ssl: 'disable' as never })).toThrow(
      RdsIamError,
    )
  })

  it('a failover that drops an idle connection does not crash the process; the next query signs in again', async () => {
    await emulator.createIamUser('knex_failover')
    const db = keep(
      createKnex({ connection: emulator.adapterOptions('knex_failover'), pool: { min: 0, max: 1 } }),
    )
    await expectIdleConnectionDropSurvived(emulator, () => db.raw('select 1'))
  })
})
