import { RdsIamError, type RdsIamErrorCode } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import type { ConformanceTarget, TargetConfig, TargetPool } from './conformance-target'
import { createEventLog, type EventLog } from './event-log'
import { createSecretWatch } from './secret-watch'

/**
 * What every adapter must do against RDS Proxy, driven through its own pool against the emulator's proxy mode: the
 * proxy's own texts, its certificate chain under a stand-in for Amazon Root CA 1 that the test process trusts as
 * Node's default store would (see proxy-trust-setup.ts), so no case below passes a `ca`.
 */
export function describeProxyConformance(target: ConformanceTarget): void {
  describe(`${target.name} against RDS Proxy`, () => {
    const watch = createSecretWatch()
    const denied = new Set<string>()
    const pools: TargetPool[] = []
    let proxy: Emulator

    beforeAll(async () => {
      proxy = await startEmulator({
        upstream: inject('postgres'),
        target: 'rds-proxy',
        proxyRoot: inject('proxyRoot'),
        policy: ({ user }) => !denied.has(user),
        onEvent: (event) => watch.recordValue(event),
      })
    })
    afterEach(async () => {
      for (const pool of pools) watch.recordValue(pool.driver)
      await Promise.all(pools.splice(0).map((pool) => pool.end()))
      proxy.throttle(null)
      proxy.proxy?.limitConnectRate(null)
      proxy.proxy?.setTokenRejectionWording('role')
      expect(watch.leaks([proxy.credentials.secretAccessKey])).toEqual([])
    })
    afterAll(() => proxy?.close())

    const recordEvents = (): EventLog => createEventLog(watch)
    const retryKinds = (events: EventLog): string[] => events.retries().map((retry) => retry.kind)

    async function iamUser(label: string): Promise<string> {
      const user = `prx_${target.name}_${label}`.replace(/\W/g, '_').toLowerCase()
      await proxy.createIamUser(user)
      return user
    }

    // The emulator's options without its `ca`: TLS is left to rds-iam's default for a proxy endpoint.
    function open(user: string, events: EventLog, overrides: Partial<TargetConfig> = {}): TargetPool {
      const { ssl: _ca, ...base } = proxy.adapterOptions(user)
      const pool = target.createPool({
        ...base,
        ssl: undefined,
        max: 10,
        ...overrides,
        iam: { ...base.iam, onEvent: events.onEvent, ...overrides.iam },
      })
      pools.push(pool)
      return pool
    }

    async function failureOf(promise: Promise<unknown>): Promise<RdsIamError> {
      const error = await promise.then(
        () => undefined,
        (failure: unknown) => failure,
      )
      watch.recordError(error)
      expect(error).toBeInstanceOf(RdsIamError)
      return error as RdsIamError
    }

    function expectFailure(error: RdsIamError, code: RdsIamErrorCode, ...hintNames: string[]): void {
      expect(error.code).toBe(code)
      for (const name of hintNames) expect(error.hint).toContain(name)
    }

    it('P1. verifies the proxy certificate with no CA configured and signs for the proxy endpoint', async () => {
      const user = await iamUser('p1')
      const pool = open(user, recordEvents())
      expect(await pool.query('select current_user as who')).toEqual([{ who: user }])
      expect(proxy.stats().accepted).toBeGreaterThan(0)
    })

    it.each(['role', 'user'] as const)(
      'P2. a token the proxy rejects (%s wording) is retried once with a fresh one',
      async (wording) => {
        const events = recordEvents()
        const user = await iamUser(`p2_${wording}`)
        const pool = open(user, events)
        proxy.proxy?.setTokenRejectionWording(wording)
        proxy.rejectNext(1)
        expect(await pool.query('select 1 as one')).toEqual([{ one: 1 }])
        expect(retryKinds(events)).toEqual(['token-rejected'])
        expect(events.count('token-invalidated')).toBe(1)
        expect(events.count('token-generated')).toBe(2)
      },
    )

    it("P3. a permanent rejection fails after one retry with a hint naming the proxy's causes", async () => {
      const events = recordEvents()
      const user = await iamUser('p3')
      denied.add(user)
      try {
        const error = await failureOf(open(user, events).query('select 1'))
        expectFailure(error, 'token-rejected', 'IAM authentication is enabled on the proxy', `dbuser:prx-`)
        expect(retryKinds(events)).toEqual(['token-rejected'])
      } finally {
        denied.delete(user)
      }
    })

    it('P4. "too many competing requests" is retried with backoff until the connections get in', async () => {
      const events = recordEvents()
      const user = await iamUser('p4')
      const pool = open(user, events, { max: 6, iam: { retry: { maxThrottleMs: 20_000 } } })
      const throttled = proxy.stats().rejected.throttled ?? 0
      proxy.throttle(2)
      const held = await Promise.all(
        Array.from({ length: 6 }, () => pool.query('select 1 as one from pg_sleep(0.2)')),
      )
      expect(held).toHaveLength(6)
      expect(proxy.stats().rejected.throttled ?? 0).toBeGreaterThan(throttled)
      expect(retryKinds(events).length).toBeGreaterThan(0)
      expect(new Set(retryKinds(events))).toEqual(new Set(['throttled']))
    })

    it("P5. the proxy's connect-rate limit is retried with backoff too", async () => {
      const events = recordEvents()
      const user = await iamUser('p5')
      const pool = open(user, events, { max: 6, iam: { retry: { maxThrottleMs: 20_000 } } })
      proxy.proxy?.limitConnectRate(2)
      const rows = await Promise.all(
        Array.from({ length: 6 }, () => pool.query('select 1 as one from pg_sleep(0.2)')),
      )
      expect(rows).toHaveLength(6)
      expect(proxy.stats().rejected['connection-limit'] ?? 0).toBeGreaterThan(0)
      expect(new Set(retryKinds(events))).toEqual(new Set(['throttled']))
    })

    it('P6. the RDS CA bundle pinned as ssl.ca fails before any token is sent, naming the Amazon Root CAs', async () => {
      const { loadDefaultCaCertificates } = await import('@rds-iam/core/adapter')
      const { rootCertificates } = await import('node:tls')
      const rdsBundle = (await loadDefaultCaCertificates()).filter((pem) => !rootCertificates.includes(pem))
      const events = recordEvents()
      const user = await iamUser('p6')
      const before = proxy.stats()
      const error = await failureOf(open(user, events, { ssl: { ca: rdsBundle } }).query('select 1'))
      expectFailure(error, 'config', 'Amazon Root CA', 'ssl.ca')
      expect(retryKinds(events)).toEqual([])
      expect(proxy.stats().accepted).toBe(before.accepted)
      expect(proxy.stats().rejected).toEqual(before.rejected)
    })

    it('P7. a user the proxy has no secret for fails fast, naming the Secrets Manager secret', async () => {
      const events = recordEvents()
      const user = `prx_${target.name}_nosecret`.replace(/\W/g, '_').toLowerCase()
      await proxy.createPasswordUser(user, 'a-real-password')
      const error = await failureOf(open(user, events).query('select 1'))
      expectFailure(error, 'config', 'Secrets Manager', user)
      expect(retryKinds(events)).toEqual([])
    })
  })
}
