import { type IamLogger, RdsIamError, type RdsIamErrorCode } from '@rds-iam/core'
import { type Emulator, type PostgresServer, startEmulator, startPostgres } from '@rds-iam/emulator'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { ConformanceTarget, HeldConnection, TargetConfig, TargetPool } from './conformance-target'
import { createEventLog, type EventLog } from './event-log'
import { startImpostor } from './impostor'
import { createSecretWatch } from './secret-watch'

/** How the suite's emulator serves logins. */
export interface ConformanceOptions {
  /**
   * Runs the emulator with `direct: true`, in front of a PostgreSQL of its own: PostgreSQL checks the tokens with
   * the emulator over LDAP and answers a bad one with "LDAP authentication failed", which adapters must take as the
   * PAM message. It cannot throttle, so the throttling behaviour is left to the relay's run.
   */
  direct?: boolean
  /**
   * What the emulator serves as: `'dsql'` runs the suite against an Aurora DSQL cluster, where the adapter's config
   * differs from the RDS run in its host name alone (the emulator's DSQL endpoint, signed for and verified).
   * @default 'rds'
   */
  target?: 'rds' | 'dsql'
}

/**
 * The behaviours every adapter must show, driven through the adapter's own pool against the emulator in front of
 * a real PostgreSQL: real TLS, real tokens, real driver.
 */
export function describeConformance(target: ConformanceTarget, options: ConformanceOptions = {}): void {
  const { direct = false, target: endpointKind = 'rds' } = options
  const dsql = endpointKind === 'dsql'
  const suffix = `${direct ? ', direct emulator' : ''}${dsql ? ', Aurora DSQL' : ''}`
  describe(`${target.name} conformance${suffix}`, () => {
    const watch = createSecretWatch()
    const denied = new Set<string>()
    const pools: TargetPool[] = []
    // Connections a test holds; released after it even when it fails, so ending its pools cannot hang.
    const held = new Set<HeldConnection>()
    // Aurora DSQL's AWS IAM GRANT, by role: filled in by the test of a role not mapped to the key.
    const roleGrants: Record<string, string[]> = {}
    let emulator: Emulator
    let ownPostgres: PostgresServer | undefined

    beforeAll(async () => {
      if (direct) ownPostgres = await startPostgres()
      emulator = await startEmulator({
        upstream: ownPostgres ?? inject('postgres'),
        direct,
        target: endpointKind,
        roleGrants,
        policy: ({ user }) => !denied.has(user),
        onEvent: (event) => watch.recordValue(event),
      })
    })
    afterEach(async () => {
      // What the driver holds after the test's connects, failed ones included, is searched for secrets too.
      for (const pool of pools) watch.recordValue(pool.driver)
      await Promise.allSettled([...held].map((connection) => connection.release()))
      held.clear()
      await Promise.all(pools.splice(0).map((pool) => pool.end()))
      expect(watch.leaks([emulator.credentials.secretAccessKey])).toEqual([])
    })
    afterAll(async () => {
      await emulator?.close()
      await ownPostgres?.stop()
    })

    const logger: IamLogger = {
      debug: (message, event) => watch.recordValue({ message, event }),
      info: (message, event) => watch.recordValue({ message, event }),
      warn: (message, event) => watch.recordValue({ message, event }),
      error: (message, event) => watch.recordValue({ message, event }),
    }

    const recordEvents = (): EventLog => createEventLog(watch)

    // Role names of this adapter's run; PostgreSQL reserves the `pg_` prefix, hence `conf_`.
    function userName(label: string): string {
      return `conf_${target.name}${dsql ? '_dsql' : ''}_${label}`.replace(/\W/g, '_').toLowerCase()
    }

    // Each test signs in as its own user, so its first token is a cold start of the process-wide cache.
    async function iamUser(label: string): Promise<string> {
      const user = userName(label)
      await emulator.createIamUser(user)
      return user
    }

    function configFor(user: string, events: EventLog, overrides: Partial<TargetConfig> = {}): TargetConfig {
      const base = emulator.adapterOptions(user)
      return {
        ...base,
        max: 10,
        ...overrides,
        iam: {
          ...base.iam,
          onEvent: events.onEvent,
          logger,
          ...overrides.iam,
        },
      }
    }

    function open(config: TargetConfig): TargetPool {
      const pool = target.createPool(config)
      pools.push(pool)
      return {
        ...pool,
        hold: async () => {
          const connection = await pool.hold()
          held.add(connection)
          return {
            query: (text) => connection.query(text),
            release: async () => {
              held.delete(connection)
              await connection.release()
            },
          }
        },
      }
    }

    // The failure is an RdsIamError of this code, and its hint names the fix.
    function expectIamFailure(error: unknown, code: RdsIamErrorCode, hintNames = ''): void {
      expect(error).toBeInstanceOf(RdsIamError)
      expect(error).toMatchObject({ code })
      expect((error as RdsIamError).hint).toContain(hintNames)
    }

    async function failureOf(promise: Promise<unknown>): Promise<unknown> {
      const error = await promise.then(
        () => undefined,
        (failure: unknown) => failure,
      )
      watch.recordError(error)
      return error
    }

    it('a. connects with an IAM token and queries as the IAM user', async () => {
      const user = await iamUser('a')
      const accepted = emulator.stats().accepted
      const pool = open(configFor(user, recordEvents()))
      const [row] = await pool.query('select current_user as who, 40 + 2 as answer')
      expect(row).toMatchObject({ who: user, answer: 42 })
      expect(emulator.stats().accepted).toBe(accepted + 1)
    })

    it('b. many connections share one token', async () => {
      const events = recordEvents()
      const user = await iamUser('b')
      const accepted = emulator.stats().accepted
      const pool = open(configFor(user, events, { max: 5 }))
      const held = await Promise.all(Array.from({ length: 5 }, () => pool.hold()))
      const pids = await Promise.all(
        held.map(async (connection) => (await connection.query('select pg_backend_pid() as pid'))[0]?.pid),
      )
      await Promise.all(held.map((connection) => connection.release()))
      expect(new Set(pids).size).toBe(5)
      expect(emulator.stats().accepted).toBe(accepted + 5)
      expect(events.count('token-generated')).toBe(1)
    })

    it('c. a token past its life is replaced for new connections while open ones keep working', async () => {
      const events = recordEvents()
      const user = await iamUser('c')
      let skewMs = 0
      const clock = { now: () => Date.now() + skewMs }
      const rejected = totalRejections(emulator)
      const pool = open(configFor(user, events, { iam: { clock } }))
      const first = await pool.hold()
      skewMs = 16 * 60_000
      const second = await pool.hold()
      expect(await second.query('select 1 as one')).toEqual([{ one: 1 }])
      expect(await first.query('select 2 as two')).toEqual([{ two: 2 }])
      await Promise.all([first.release(), second.release()])
      expect(events.count('token-generated')).toBe(2)
      expect(totalRejections(emulator)).toBe(rejected)
    })

    it('c. a token the server expired early is replaced once for a burst of new connections', async () => {
      const events = recordEvents()
      const user = await iamUser('c_server')
      const expired = emulator.stats().rejected.expired ?? 0
      const pool = open(configFor(user, events))
      const first = await pool.hold()
      // Long enough that a token signed during the burst (X-Amz-Date counts whole seconds, answers are delayed)
      // stays valid on a loaded machine, short enough to outlive the first token in a few seconds.
      emulator.setTokenLifetime(3)
      try {
        await new Promise((resolve) => setTimeout(resolve, 3_200))
        // Slow answers let the new connections send the cached token, which the server now refuses, before the
        // first refusal comes back, so several of them fail on it at once.
        emulator.delayAuth(300)
        const burst = await Promise.all(Array.from({ length: 5 }, () => pool.hold()))
        const answers = await Promise.all(burst.map((held) => held.query('select 1 as one')))
        expect(answers).toEqual(Array.from({ length: 5 }, () => [{ one: 1 }]))
        await Promise.all(burst.map((held) => held.release()))
      } finally {
        emulator.setTokenLifetime(900)
        emulator.delayAuth(0)
      }
      expect(await first.query('select 2 as two')).toEqual([{ two: 2 }])
      await first.release()
      // How many connections sent the old token before the first refusal came back depends on the machine's load;
      // whatever that number, each of them retried once, and together they made one new token.
      const rejections = (emulator.stats().rejected.expired ?? 0) - expired
      expect(rejections).toBeGreaterThanOrEqual(1)
      expect(events.retries().map((retry) => retry.kind)).toEqual(Array(rejections).fill('token-rejected'))
      expect(events.count('token-invalidated')).toBe(1)
      expect(events.count('token-generated')).toBe(2)
    })

    it('c. a server clock ahead of ours expires the cached token; a new connection retries with a fresh one', async () => {
      const events = recordEvents()
      const user = await iamUser('c_clock')
      const expired = emulator.stats().rejected.expired ?? 0
      const pool = open(configFor(user, events))
      const first = await pool.hold()
      // The server now sees every token as signed 14 min 57 s ago: the cached one dies within seconds, a fresh one
      // lives 3 s by the server's clock, enough for its connect.
      emulator.setClockOffset(897_000)
      try {
        await new Promise((resolve) => setTimeout(resolve, 3_200))
        const second = await pool.hold()
        expect(await second.query('select 1 as one')).toEqual([{ one: 1 }])
        await second.release()
      } finally {
        emulator.setClockOffset(0)
      }
      expect(await first.query('select 2 as two')).toEqual([{ two: 2 }])
      await first.release()
      expect(emulator.stats().rejected.expired).toBe(expired + 1)
      expect(events.retries().map((retry) => retry.kind)).toEqual(['token-rejected'])
      expect(events.count('token-generated')).toBe(2)
    })

    it('d. a rejected authentication is retried transparently with a fresh token', async () => {
      const events = recordEvents()
      const user = await iamUser('d')
      const pool = open(configFor(user, events))
      emulator.rejectNext(1)
      expect(await pool.query('select current_user as who')).toEqual([{ who: user }])
      expect(events.retries()).toHaveLength(1)
      expect(events.count('token-invalidated')).toBe(1)
      expect(events.count('token-generated')).toBe(2)
      if (pool.connectionCount) expect(pool.connectionCount()).toBe(1)
    })

    // RDS refuses every bad token with one message, so a refusal is retried once; Aurora DSQL says when its IAM
    // policy refuses, which no new token can change.
    const policyAttempts = dsql ? 1 : 2
    it(`e. a permanent rejection is tried ${policyAttempts === 2 ? 'twice' : 'once'}, then fails with the hint; the pool recovers`, async () => {
      const events = recordEvents()
      const user = await iamUser('e')
      denied.add(user)
      const byPolicy = emulator.stats().rejected.policy ?? 0
      const pool = open(configFor(user, events))
      const error = await failureOf(pool.query('select 1'))
      expectIamFailure(error, 'token-rejected', dsql ? 'dsql:DbConnect' : 'rds-db:connect')
      expect(events.retries()).toHaveLength(policyAttempts - 1)
      expect(emulator.stats().rejected.policy).toBe(byPolicy + policyAttempts)
      if (pool.connectionCount) expect(pool.connectionCount()).toBe(0)
      denied.delete(user)
      expect(await pool.query('select current_user as who')).toEqual([{ who: user }])
    })

    it('f. an impostor TLS server never receives the token', async () => {
      const foreignCa = await startImpostor([emulator.endpoint, '127.0.0.1'])
      const wrongName = await startImpostor(['impostor.example.com', '127.0.0.1'])
      try {
        const events = recordEvents()
        const user = await iamUser('f')
        const viaForeignCa = open(
          configFor(user, events, { port: foreignCa.port, iam: { tokenPort: emulator.port } }),
        )
        const viaWrongName = open(
          configFor(user, events, {
            port: wrongName.port,
            ssl: { ca: wrongName.ca },
            iam: { tokenPort: emulator.port },
          }),
        )
        expect(await failureOf(viaForeignCa.query('select 1'))).toBeInstanceOf(Error)
        expect(await failureOf(viaWrongName.query('select 1'))).toBeInstanceOf(Error)
        expect(foreignCa.bytesAfterHandshake()).toBe(0)
        expect(wrongName.bytesAfterHandshake()).toBe(0)
        expect(events.retries()).toHaveLength(0)
      } finally {
        await Promise.all([foreignCa.close(), wrongName.close()])
      }
    })

    it('f. turning TLS off is refused before dialing', async () => {
      const before = emulator.stats()
      // Neither is in the types; JavaScript callers and driver configs pass them anyway.
      for (const ssl of [false, 'disable'] as unknown as true[]) {
        const error = await failureOf(
          Promise.resolve().then(() => open(configFor('nobody', recordEvents(), { ssl }))),
        )
        expectIamFailure(error, 'ssl-required')
      }
      expect(emulator.stats()).toEqual(before)
    })

    it('g. 100 concurrent queries on a cold pool generate one token', async () => {
      const events = recordEvents()
      const user = await iamUser('g')
      const pool = open(configFor(user, events))
      const rows = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.query(`select ${i} as i`)))
      expect(rows.map(([row]) => row?.i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
      expect(events.count('token-generated')).toBe(1)
    })

    // Aurora DSQL has no password users: every role signs in with a token of a key the role is granted to.
    const itOnRds = dsql ? undefined : it
    const itOnDsql = dsql ? it : undefined
    itOnDsql?.(
      'i. a role not granted to the IAM identity fails as token-rejected, naming AWS IAM GRANT',
      async () => {
        const events = recordEvents()
        const user = await iamUser('i_unmapped')
        roleGrants[user] = ['AKIANOBODYHASTHISKEY']
        const unmapped = emulator.stats().rejected['not-mapped'] ?? 0
        const pool = open(configFor(user, events))
        const error = await failureOf(pool.query('select 1'))
        expectIamFailure(error, 'token-rejected', `AWS IAM GRANT "${user}"`)
        expect(events.retries()).toHaveLength(1)
        expect(emulator.stats().rejected['not-mapped']).toBe(unmapped + 2)
        delete roleGrants[user]
        expect(await pool.query('select current_user as who')).toEqual([{ who: user }])
      },
    )

    itOnRds?.('i. a user without rds_iam fails as not-iam-user, without a retry', async () => {
      const events = recordEvents()
      const user = userName('plain')
      await emulator.createPasswordUser(user, 'a-real-password')
      const pool = open(configFor(user, events))
      const error = await failureOf(pool.query('select 1'))
      expectIamFailure(error, 'not-iam-user', 'rds_iam')
      expect(events.retries()).toHaveLength(0)
    })

    // Only the relay can throttle: a direct emulator's logins are PostgreSQL's own.
    const itWithRelay = direct ? undefined : it
    itWithRelay?.(
      'j. a throttled endpoint is retried with backoff until it lets the connections in',
      async () => {
        const events = recordEvents()
        const user = await iamUser('j')
        const pool = open(configFor(user, events, { max: 8, iam: { retry: { maxThrottleMs: 20_000 } } }))
        emulator.throttle(2)
        const started = Date.now()
        try {
          const held = await Promise.all(Array.from({ length: 8 }, () => pool.hold()))
          await Promise.all(held.map((connection) => connection.release()))
        } finally {
          emulator.throttle(null)
        }
        // The budget bounds when a connection may start another attempt, so the last one can begin just before it
        // runs out: with random backoff, an unlucky connection now and then takes most of the 20 s.
        expect(Date.now() - started).toBeLessThan(20_000 + 5_000)
        const throttled = events.retries().filter((retry) => retry.kind === 'throttled')
        expect(throttled.length).toBeGreaterThan(0)
        expect(throttled.every((retry) => retry.delayMs >= 0)).toBe(true)
      },
    )

    // Aurora DSQL ends every session at 60 minutes: pools retire connections before, unless told otherwise.
    const itOnDsqlPool = dsql && target.pooled ? it : undefined
    itOnDsqlPool?.(
      'l. the pool retires connections at 55 minutes by default, or at the age the user chose',
      async () => {
        const user = await iamUser('l')
        const defaults = open(configFor(user, recordEvents()))
        expect(await defaults.lifetimeSeconds?.()).toBe(3300)
        const own = open(configFor(user, recordEvents(), { maxLifetimeSeconds: 1234 }))
        expect(await own.lifetimeSeconds?.()).toBe(1234)
      },
    )

    itOnDsqlPool?.(
      'l. connections retired before the server ends their sessions keep every query working',
      async () => {
        // A cluster of its own whose sessions end after 3 s, and a pool that retires them after 1 s.
        const aging = await startEmulator({
          upstream: inject('postgres'),
          target: 'dsql',
          maxSessionAgeMs: 3_000,
        })
        const user = userName('l_aging')
        await aging.createIamUser(user)
        const base = aging.adapterOptions(user)
        const pool = target.createPool({
          ...base,
          max: 2,
          maxLifetimeSeconds: 1,
          iam: { ...base.iam, logger },
        })
        try {
          const until = Date.now() + 5_000
          let queries = 0
          while (Date.now() < until) {
            expect(await pool.query('select 1 as one')).toEqual([{ one: 1 }])
            queries++
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          expect(queries).toBeGreaterThan(10)
          // Every session the pool used was closed by the pool, none by the server.
          expect(aging.events.filter((event) => event.type === 'session-aged-out')).toEqual([])
          expect(aging.stats().accepted).toBeGreaterThanOrEqual(3)
        } finally {
          await pool.end()
          await aging.close()
        }
      },
    )

    it('k. PGHOST, PGPORT, PGUSER and PGDATABASE fill in what the config leaves out', async () => {
      const user = await iamUser('k')
      const env = {
        PGHOST: emulator.host,
        PGPORT: String(emulator.port),
        PGUSER: user,
        PGDATABASE: 'postgres',
      }
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value)
      try {
        const { host, port, user: _user, database, ...config } = configFor(user, recordEvents())
        const pool = open(config)
        const rows = await pool.query('select current_user as who, current_database() as db')
        expect(rows).toEqual([{ who: user, db: 'postgres' }])
      } finally {
        vi.unstubAllEnvs()
      }
    })

    it('h. no token or secret key appears in the errors, events, logs or driver objects of any failure', async () => {
      const own = createSecretWatch()
      const capture = (message: string, event: unknown): void => own.recordValue({ message, event })
      const user = await iamUser('h')
      const plain = userName('h_plain')
      await emulator.createPasswordUser(plain, 'another-real-password')
      const config = (who: string): TargetConfig => {
        const base = configFor(who, recordEvents())
        return {
          ...base,
          iam: {
            ...base.iam,
            onEvent: (event) => own.recordValue(event),
            logger: { debug: capture, info: capture, warn: capture, error: capture },
          },
        }
      }
      const pool = open(config(user))
      const notIam = open(config(plain))
      await pool.query('select 1')
      emulator.rejectNext(2)
      own.recordError(await failureOf(pool.query('select 1')))
      own.recordError(await failureOf(notIam.query('select 1')))
      if (!direct) {
        emulator.throttle(0)
        try {
          const throttled = open({
            ...config(user),
            iam: { ...config(user).iam, retry: { maxThrottleMs: 200 } },
          })
          own.recordError(await failureOf(throttled.query('select 1')))
        } finally {
          emulator.throttle(null)
        }
      }
      for (const driver of [pool, notIam]) own.recordValue(driver.driver)
      expect(own.size()).toBeGreaterThan(10)
      expect(own.leaks([emulator.credentials.secretAccessKey])).toEqual([])
    })
  })
}

function totalRejections(emulator: Emulator): number {
  return Object.values(emulator.stats().rejected).reduce((sum, count) => sum + (count ?? 0), 0)
}
