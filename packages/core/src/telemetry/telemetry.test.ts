import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import * as semconv from '@opentelemetry/semantic-conventions'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startConnectAttempt } from '../connect-attempt'
import { createIamAuth } from '../create-iam-auth'
import { RdsIamError } from '../errors'
import { createFakeClock, driverError, FAKE_IDENTITY, RDS_HOST } from '../test-helpers'
import { resetTokenCacheForTesting } from '../token-cache'
import type { AwsCredentialIdentity, IamAuthOptions } from '../types'
import * as names from './attributes'
import { registerTestSdk, sumOf, type TestSdk } from './test-sdk'

let sdk: TestSdk
beforeAll(() => {
  sdk = registerTestSdk()
})
afterEach(async () => {
  resetTokenCacheForTesting()
  await sdk.reset()
})
afterAll(() => sdk.shutdown())

const options = (extra: Partial<IamAuthOptions> = {}): IamAuthOptions => ({
  host: RDS_HOST,
  user: 'app',
  database: 'orders',
  credentials: FAKE_IDENTITY,
  ...extra,
})

const rejected = (): Error => driverError('28000', 'PAM authentication failed for user "app"')
const throttled = (): Error =>
  driverError(undefined, 'The IAM authentication failed because of too many competing requests.')

// Everything exported, as one string: spans (names, attributes, events, status) and metric points.
async function exported(): Promise<string> {
  const spans = sdk.spans().map((span) => ({
    name: span.name,
    attributes: span.attributes,
    events: span.events,
    status: span.status,
  }))
  return JSON.stringify({ spans, metrics: await sdk.metrics() })
}

describe('attribute names', () => {
  it('are the stable names of @opentelemetry/semantic-conventions', () => {
    expect(names.DB_SYSTEM_NAME).toBe(semconv.ATTR_DB_SYSTEM_NAME)
    expect(names.DB_NAMESPACE).toBe(semconv.ATTR_DB_NAMESPACE)
    expect(names.DB_RESPONSE_STATUS_CODE).toBe(semconv.ATTR_DB_RESPONSE_STATUS_CODE)
    expect(names.SERVER_ADDRESS).toBe(semconv.ATTR_SERVER_ADDRESS)
    expect(names.SERVER_PORT).toBe(semconv.ATTR_SERVER_PORT)
    expect(names.ERROR_TYPE).toBe(semconv.ATTR_ERROR_TYPE)
    expect(names.POSTGRESQL).toBe(semconv.DB_SYSTEM_NAME_VALUE_POSTGRESQL)
  })

  it('of rds-iam are under rds_iam., never under db.', () => {
    const own = Object.entries(names).filter(([key]) => key.startsWith('RDS_IAM_') || key.startsWith('SPAN_'))
    for (const [, name] of own) expect(name).toMatch(/^rds_iam\./)
  })
})

describe('token spans and metrics', () => {
  it('a signed token, then a cached one: a span each, counted as signed and as a cache hit', async () => {
    const auth = createIamAuth(options())
    await auth.getToken()
    await auth.getToken()
    const spans = sdk.spans().filter((span) => span.name === 'rds_iam.token')
    expect(spans.map((span) => span.attributes['rds_iam.token.source'])).toEqual(['signed', 'cache'])
    expect(spans[0]?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'server.address': RDS_HOST,
      'server.port': 5432,
      'db.namespace': 'orders',
      'rds_iam.user': 'app',
      'rds_iam.tls.mode': 'verify-full',
      'rds_iam.credentials.source': 'static',
    })
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.token.signed', { 'rds_iam.token.refresh': 'on-demand' })).toBe(1)
    expect(sumOf(points, 'rds_iam.token.cache_hits', { 'server.address': RDS_HOST })).toBe(1)
    expect(sumOf(points, 'rds_iam.token.duration', { 'rds_iam.token.source': 'cache' })).toBe(1)
    expect(sumOf(points, 'rds_iam.token.duration', { 'rds_iam.token.source': 'signed' })).toBe(1)
    expect(points.find((point) => point.name === 'rds_iam.token.duration')?.unit).toBe('s')
  })

  it('names where the credentials come from: a provider, a profile', async () => {
    await createIamAuth(options({ credentials: async () => FAKE_IDENTITY })).getToken()
    expect(sdk.spans()[0]?.attributes['rds_iam.credentials.source']).toBe('provider')
  })

  it('nests under the span that is active when the driver asks for the password', async () => {
    const auth = createIamAuth(options())
    const parent = trace.getTracer('driver').startSpan('pg.connect')
    await context.with(trace.setSpan(context.active(), parent), () => auth.getToken())
    parent.end()
    const token = sdk.spans().find((span) => span.name === 'rds_iam.token')
    expect(token?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId)
  })

  it('a credential provider that fails: the token span fails with error.type credentials, and is counted', async () => {
    const auth = createIamAuth(
      options({
        credentials: async () => {
          throw new Error('no way to reach the metadata service')
        },
      }),
    )
    await expect(auth.getToken()).rejects.toBeInstanceOf(RdsIamError)
    const [span] = sdk.spans()
    expect(span?.attributes['error.type']).toBe('credentials')
    expect(span?.status.code).toBe(SpanStatusCode.ERROR)
    expect(
      sumOf(await sdk.metrics(), 'rds_iam.credentials.refresh_failures', { 'error.type': 'credentials' }),
    ).toBe(1)
  })
})

describe('credential renewal', () => {
  it('a provider that fails to renew an identity that can still sign: counted as a refresh failure', async () => {
    const clock = createFakeClock()
    const expiration = new Date(clock.now() + 30 * 60_000)
    let down = false
    const provider = async (): Promise<AwsCredentialIdentity> => {
      if (down) throw new Error('connect ECONNREFUSED 169.254.169.254:80')
      return { ...FAKE_IDENTITY, sessionToken: 'session', expiration }
    }
    const auth = createIamAuth(options({ credentials: provider, clock }))
    await auth.getToken()
    down = true
    // The token has expired, the identity has 4 minutes left: it still signs, while its renewal fails.
    clock.advance(26 * 60_000)
    await expect(auth.getToken()).resolves.toContain('X-Amz-Signature=')
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.credentials.refresh_failures', { 'error.type': 'credentials' })).toBe(1)
    expect(sumOf(points, 'rds_iam.token.signed')).toBe(2)
  })
})

describe('sign-in spans and metrics', () => {
  it('a rejected token: one sign-in span, two attempts, a retry event, the token spans inside the attempts', async () => {
    const auth = createIamAuth(options())
    let calls = 0
    await auth.retry(async (attempt) => {
      await attempt.password()
      if (++calls === 1) throw rejected()
    })
    const spans = sdk.spans()
    const signIn = spans.find((span) => span.name === 'rds_iam.sign_in')
    const attempts = spans.filter((span) => span.name === 'rds_iam.connect_attempt')
    const tokens = spans.filter((span) => span.name === 'rds_iam.token')
    expect(signIn?.attributes).toMatchObject({ 'rds_iam.sign_in.attempts': 2, 'rds_iam.region': 'us-east-1' })
    expect(signIn?.status.code).not.toBe(SpanStatusCode.ERROR)
    expect(signIn?.events.map((event) => [event.name, event.attributes])).toEqual([
      ['rds_iam.retry', { 'rds_iam.retry.reason': 'token-rejected', 'rds_iam.attempt': 2 }],
    ])
    expect(attempts.map((span) => span.parentSpanContext?.spanId)).toEqual([
      signIn?.spanContext().spanId,
      signIn?.spanContext().spanId,
    ])
    expect(attempts[0]?.attributes).toMatchObject({
      'rds_iam.attempt': 1,
      'error.type': 'token-rejected',
      'db.response.status_code': '28000',
    })
    expect(attempts[1]?.attributes['error.type']).toBeUndefined()
    // The rejected token was thrown away, so the second attempt signed a new one.
    expect(tokens.map((span) => span.parentSpanContext?.spanId)).toEqual(
      attempts.map((span) => span.spanContext().spanId),
    )
    expect(tokens.map((span) => span.attributes['rds_iam.token.source'])).toEqual(['signed', 'signed'])
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.sign_in.retries', { 'rds_iam.retry.reason': 'token-rejected' })).toBe(1)
    expect(sumOf(points, 'rds_iam.token.signed')).toBe(2)
    expect(sumOf(points, 'rds_iam.sign_in.duration', { 'db.namespace': 'orders' })).toBe(1)
  })

  it('throttled twice: counted as throttling and as retries by reason, the sign-in then succeeds', async () => {
    const auth = createIamAuth(options({ retry: { baseDelayMs: 1 } }))
    let calls = 0
    await auth.retry(async (attempt) => {
      await attempt.password()
      if (++calls <= 2) throw throttled()
    })
    const points = await sdk.metrics()
    expect(sumOf(points, 'rds_iam.sign_in.throttled')).toBe(2)
    expect(sumOf(points, 'rds_iam.sign_in.retries', { 'rds_iam.retry.reason': 'throttled' })).toBe(2)
    const signIn = sdk.spans().find((span) => span.name === 'rds_iam.sign_in')
    expect(signIn?.attributes['rds_iam.sign_in.attempts']).toBe(3)
  })

  it('a sign-in that fails for good: error.type on the span and on the duration, status error', async () => {
    const auth = createIamAuth(options())
    const failure = await auth
      .retry(async (attempt) => {
        await attempt.password()
        throw rejected()
      })
      .catch((error: unknown) => error)
    expect(failure).toMatchObject({ code: 'token-rejected' })
    const signIn = sdk.spans().find((span) => span.name === 'rds_iam.sign_in')
    expect(signIn?.attributes['error.type']).toBe('token-rejected')
    expect(signIn?.status.code).toBe(SpanStatusCode.ERROR)
    expect(sumOf(await sdk.metrics(), 'rds_iam.sign_in.duration', { 'error.type': 'token-rejected' })).toBe(1)
  })
})

describe("a driver's own sign-in (startConnectAttempt)", () => {
  it('tells the opening it is traced, and is one span holding the token span, with its duration', async () => {
    const auth = createIamAuth(options())
    const tracked = startConnectAttempt(auth)
    const told: boolean[] = []
    await tracked.signIn(async (traced) => {
      told.push(traced)
      await tracked.attempt.password()
    })
    expect(told).toEqual([true])
    const signIn = sdk.spans().find((span) => span.name === 'rds_iam.sign_in')
    const token = sdk.spans().find((span) => span.name === 'rds_iam.token')
    expect(signIn?.attributes['rds_iam.sign_in.attempts']).toBe(1)
    expect(token?.parentSpanContext?.spanId).toBe(signIn?.spanContext().spanId)
    expect(sumOf(await sdk.metrics(), 'rds_iam.sign_in.duration')).toBe(1)
  })

  it('inside an attempt of a traced retry is that attempt: no sign-in of its own, the token under the attempt', async () => {
    const auth = createIamAuth(options())
    const told: boolean[] = []
    await auth.retry(async () => {
      const tracked = startConnectAttempt(auth)
      await tracked.signIn(async (traced) => {
        told.push(traced)
        await tracked.attempt.password()
      })
    })
    expect(told).toEqual([false])
    const signIns = sdk.spans().filter((span) => span.name === 'rds_iam.sign_in')
    const attempt = sdk.spans().find((span) => span.name === 'rds_iam.connect_attempt')
    const token = sdk.spans().find((span) => span.name === 'rds_iam.token')
    expect(signIns).toHaveLength(1)
    expect(token?.parentSpanContext?.spanId).toBe(attempt?.spanContext().spanId)
    expect(sumOf(await sdk.metrics(), 'rds_iam.sign_in.duration')).toBe(1)
  })
})

describe('secrets', () => {
  it('no token, secret key or session token appears in any span attribute, event, status or metric', async () => {
    const identity = { ...FAKE_IDENTITY, sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN' }
    const auth = createIamAuth(options({ credentials: identity, retry: { baseDelayMs: 1 } }))
    const tokens: string[] = []
    let calls = 0
    // A driver error that quotes the token, as no driver should, is redacted too.
    await auth.retry(async (attempt) => {
      const token = await attempt.password()
      tokens.push(token)
      calls++
      if (calls === 1) throw rejected()
      if (calls === 2) throw driverError(undefined, `${throttled().message} token=${token}`)
    })
    const shown = await exported()
    expect(tokens).toHaveLength(3)
    expect(shown).toContain('rds_iam.token')
    for (const token of tokens) {
      expect(shown).not.toContain(token)
      expect(shown).not.toContain(new URL(`https://${token}`).searchParams.get('X-Amz-Signature'))
    }
    expect(shown).not.toContain(identity.secretAccessKey)
    expect(shown).not.toContain(identity.sessionToken)
  })
})
