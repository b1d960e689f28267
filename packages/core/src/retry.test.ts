import { describe, expect, it } from 'vitest'
import { RdsIamError } from './errors'
import { driverError, eventsOfType, retryHarness as harness } from './test-helpers'
import type { ConnectAttempt } from './types'

const pamFailure = () => driverError('28000', 'PAM authentication failed for user "app"')
const throttled = () =>
  driverError(undefined, 'The IAM authentication failed because of too many competing requests.')

// Fails with the given errors in turn, then succeeds.
function connectFailing(...errors: Error[]) {
  let calls = 0
  const connect = async (): Promise<string> => {
    const error = errors[calls++]
    if (error) throw error
    return 'connected'
  }
  return { connect, calls: () => calls }
}

describe('retry', () => {
  it('passes a successful connect through without retrying', async () => {
    const h = harness()
    const c = connectFailing()
    await expect(h.retry(c.connect)).resolves.toBe('connected')
    expect(c.calls()).toBe(1)
    expect(h.events).toEqual([])
  })

  it('invalidates and retries once, at once, when the token is rejected', async () => {
    const h = harness()
    const c = connectFailing(pamFailure())
    await expect(h.retry(c.connect)).resolves.toBe('connected')
    expect(c.calls()).toBe(2)
    expect(h.invalidations()).toBe(1)
    expect(h.sleeps).toEqual([])
    expect(eventsOfType(h.events, 'auth-retry')).toEqual([
      {
        type: 'auth-retry',
        kind: 'token-rejected',
        attempt: 1,
        delayMs: 0,
        hint: expect.stringContaining('rds_iam'),
      },
    ])
  })

  it('gives up after the second rejection with an RdsIamError carrying hint and cause', async () => {
    const h = harness()
    const second = pamFailure()
    const c = connectFailing(pamFailure(), second, pamFailure())
    const error = await h.retry(c.connect).catch((e: unknown) => e)
    expect(c.calls()).toBe(2)
    expect(error).toBeInstanceOf(RdsIamError)
    expect(error).toMatchObject({
      code: 'token-rejected',
      cause: second,
      hint: expect.stringContaining('GRANT rds_iam TO "app"'),
    })
    expect((error as Error).message).toContain(
      'IAM sign-in as "app" to 127.0.0.1:5432 failed (token-rejected): PAM authentication',
    )
  })

  it('backs off with full jitter while throttled, then succeeds', async () => {
    const h = harness({ random: () => 0.5 })
    const c = connectFailing(throttled(), throttled(), throttled())
    await expect(h.retry(c.connect)).resolves.toBe('connected')
    expect(h.sleeps).toEqual([50, 100, 200])
    expect(h.invalidations()).toBe(0)
    expect(eventsOfType(h.events, 'auth-retry').map((e) => [e.kind, e.attempt, e.delayMs])).toEqual([
      ['throttled', 1, 50],
      ['throttled', 2, 100],
      ['throttled', 3, 200],
    ])
  })

  it('stops backing off once maxThrottleMs is spent', async () => {
    const h = harness({ maxThrottleMs: 1_000 })
    const drops = Array.from({ length: 20 }, () => new Error('Connection terminated unexpectedly'))
    const c = connectFailing(...drops)
    const error = await h.retry(c.connect).catch((e: unknown) => e)
    expect(h.sleeps).toEqual([100, 200, 400, 300])
    expect(h.sleeps.reduce((a, b) => a + b, 0)).toBe(1_000)
    expect(c.calls()).toBe(5)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'throttled', cause: drops[4] })
  })

  it('counts the time attempts take against maxThrottleMs, not only the waits', async () => {
    const h = harness({ maxThrottleMs: 1_000 })
    let calls = 0
    const slowlyThrottled = async (): Promise<never> => {
      calls++
      h.time.now += 300
      throw throttled()
    }
    await expect(h.retry(slowlyThrottled)).rejects.toMatchObject({ code: 'throttled' })
    expect(h.sleeps).toEqual([100, 200])
    expect(calls).toBe(3)
    expect(h.time.now).toBe(1_200)
  })

  it('always waits at least 1 ms, so a zero random draw cannot spin forever', async () => {
    const h = harness({ maxThrottleMs: 3, random: () => 0 })
    const c = connectFailing(throttled(), throttled(), throttled(), throttled())
    await expect(h.retry(c.connect)).rejects.toMatchObject({ code: 'throttled' })
    expect(h.sleeps).toEqual([1, 1, 1])
  })

  it('still retries a rejected token once after throttling', async () => {
    const h = harness()
    const c = connectFailing(throttled(), pamFailure(), throttled())
    await expect(h.retry(c.connect)).resolves.toBe('connected')
    expect(h.invalidations()).toBe(1)
    expect(c.calls()).toBe(4)
  })

  it.each([
    ['not-iam-user', driverError('28P01', 'password authentication failed for user "app"')],
    [
      'tls-required',
      driverError('28000', 'pg_hba.conf rejects connection for host "h", user "app", database "d", SSL off'),
    ],
    ['network', driverError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    [
      'config',
      driverError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
    ],
  ])('never retries %s, failing with an RdsIamError of that code', async (code, cause) => {
    const h = harness()
    const c = connectFailing(cause)
    await expect(h.retry(c.connect)).rejects.toMatchObject({ name: 'RdsIamError', code, cause })
    expect(c.calls()).toBe(1)
    expect(h.events).toEqual([])
  })

  it('hands each attempt what is left of timeoutMs, and retries nothing once it is spent', async () => {
    const h = harness()
    const left: (number | undefined)[] = []
    let calls = 0
    const slowRejection = async (attempt: ConnectAttempt): Promise<string> => {
      left.push(attempt.remainingMs())
      calls++
      h.time.now += 600
      throw pamFailure()
    }
    const error = await h.retry(slowRejection, { timeoutMs: 1_000 }).catch((e: unknown) => e)
    expect(left).toEqual([1_000, 400])
    expect(calls).toBe(2)
    expect(error).toMatchObject({ code: 'token-rejected' })
    const spent = harness()
    spent.time.now = 0
    const once = async (attempt: ConnectAttempt): Promise<string> => {
      spent.time.now += 1_500
      left.push(attempt.remainingMs())
      throw pamFailure()
    }
    await expect(spent.retry(once, { timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'token-rejected' })
    expect(spent.invalidations()).toBe(0)
  })

  it('gives attempts no deadline without timeoutMs', async () => {
    const h = harness()
    const seen: (number | undefined)[] = []
    await h.retry(async (attempt) => {
      seen.push(attempt.remainingMs())
      return 'connected'
    })
    expect(seen).toEqual([undefined])
  })

  it('rethrows errors that are not about IAM unchanged', async () => {
    const h = harness()
    const missingDatabase = driverError('3D000', 'database "nope" does not exist')
    const c = connectFailing(missingDatabase)
    await expect(h.retry(c.connect)).rejects.toBe(missingDatabase)
    expect(c.calls()).toBe(1)
  })

  it('rethrows its own errors unchanged, without retrying them', async () => {
    const h = harness()
    const own = new RdsIamError('credentials', 'No credentials.', { hint: 'aws sso login' })
    const c = connectFailing(own)
    await expect(h.retry(c.connect)).rejects.toBe(own)
    expect(c.calls()).toBe(1)
  })

  it('redacts a token that a driver put into its error message', async () => {
    const h = harness()
    const c = connectFailing(driverError('28P01', 'password authentication failed: X-Amz-Signature=feedface'))
    const error = (await h.retry(c.connect).catch((e: unknown) => e)) as Error
    expect(error.message).not.toContain('feedface')
    expect(error.message).toContain('X-Amz-Signature=[redacted]')
  })
})
