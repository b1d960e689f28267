import { describe, expect, it } from 'vitest'
import { classifyError } from '../../classify-error'
import { eventsOfType, retryHarness } from '../../test-helpers'
import type { ErrorContext } from '../../types'

const HOST = 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-2.on.aws'
const context: ErrorContext = {
  host: HOST,
  port: 5432,
  user: 'app_user',
  region: 'eu-west-2',
  target: 'dsql',
}

// What node-postgres and postgres.js make of a FATAL ErrorResponse: its SQLSTATE, message and HINT field.
function dsqlError(code: string, message: string, hint?: string): Error {
  return Object.assign(new Error(message), {
    code,
    severity: 'FATAL',
    ...(hint === undefined ? {} : { hint }),
  })
}
const ACCESS_DENIED = 'unable to accept connection, access denied'

describe("Aurora DSQL's answers", () => {
  it('takes an expired token as rejected, retried once, with a hint naming the policy action and AWS IAM GRANT', () => {
    const result = classifyError(
      dsqlError('08006', ACCESS_DENIED, 'Signature expired: 20261208T010000Z'),
      context,
    )
    expect(result).toMatchObject({ kind: 'token-rejected', retryable: true })
    expect(result.hint).toContain('dsql:DbConnect on arn:aws:dsql:eu-west-2:<account>:cluster/<cluster-id>')
    expect(result.hint).toContain(`AWS IAM GRANT "app_user" TO '<IAM role or user ARN>'`)
  })

  it('names DbConnectAdmin and no grant for admin', () => {
    const { hint } = classifyError(dsqlError('08006', ACCESS_DENIED), {
      ...context,
      user: 'admin',
      tokenAction: 'DbConnectAdmin',
    })
    expect(hint).toContain('dsql:DbConnectAdmin')
    expect(hint).not.toContain('AWS IAM GRANT')
  })

  it('names a region that is not the endpoint’s first, and a token signed for a tunnel address', () => {
    const { hint } = classifyError(dsqlError('08006', ACCESS_DENIED), { ...context, region: 'us-east-1' })
    expect(hint).toMatch(/^The token was signed for region us-east-1, but .* is in eu-west-2/)
    const tunnel = classifyError(dsqlError('08006', ACCESS_DENIED), {
      ...context,
      host: '127.0.0.1',
      tokenHost: '127.0.0.1',
    })
    expect(tunnel.hint).toMatch(/set `tokenHost` to it/)
  })

  it('does not retry what a new token cannot fix: an IAM policy that says no, a token of the wrong action', () => {
    const denied = dsqlError(
      '08006',
      ACCESS_DENIED,
      'User: arn:aws:iam::1:user/x is not authorized to perform: dsql:DbConnect',
    )
    expect(classifyError(denied, context)).toMatchObject({ kind: 'token-rejected', retryable: false })
    expect(classifyError(denied, context).hint).toMatch(/allow dsql:DbConnect on .* in its IAM policy/)
    const wrong = dsqlError(
      '08006',
      ACCESS_DENIED,
      'Wrong user to action mapping. user: admin, action: DbConnect',
    )
    expect(classifyError(wrong, { ...context, user: 'admin' })).toMatchObject({
      kind: 'config',
      retryable: false,
    })
    expect(classifyError(wrong, context).hint).toMatch(/DbConnectAdmin for the admin role only/)
  })

  it.each([
    ['53400', 'Unable to accept connection, rate exceeded.', /100 new connections a second/],
    ['53300', 'Unable to accept connection, too many open connections.', /10,000 open connections/],
    ['08006', 'unable to accept connection, waking up cluster, please retry later', /waking up/],
  ])('takes %s "%s" as throttled, backed off', (code, message, hint) => {
    const result = classifyError(dsqlError(code, message), context)
    expect(result).toMatchObject({ kind: 'throttled', retryable: true })
    expect(result.hint).toMatch(hint)
  })

  it('names the missing TLS and the missing SNI', () => {
    expect(
      classifyError(dsqlError('08006', 'unable to accept connection, ssl is required'), context),
    ).toMatchObject({
      kind: 'tls-required',
      retryable: false,
    })
    const sni = classifyError(
      dsqlError('08006', 'unable to accept connection, sni was not received'),
      context,
    )
    expect(sni).toMatchObject({ kind: 'config', retryable: false })
    expect(sni.hint).toMatch(/server name \(SNI\)/)
  })

  it('recognises DSQL texts without any context, and only for DSQL endpoints when the host is known', () => {
    expect(classifyError(dsqlError('08006', ACCESS_DENIED)).kind).toBe('token-rejected')
    expect(classifyError(dsqlError('53400', 'Unable to accept connection, rate exceeded.')).kind).toBe(
      'throttled',
    )
    // RDS never says this; on an RDS endpoint it is not an IAM failure rds-iam knows.
    expect(
      classifyError(dsqlError('08006', ACCESS_DENIED), { host: 'db.abc.us-east-1.rds.amazonaws.com' }).kind,
    ).toBe('unknown')
  })

  it('gives the DSQL hints for failures every target shares', () => {
    const dropped = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    expect(classifyError(dropped, context).hint).toMatch(/Aurora DSQL opens at most 100/)
    const certificate = Object.assign(new Error('self-signed certificate'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    })
    expect(classifyError(certificate, context).hint).toMatch(/Amazon Root CA 1/)
  })
})

describe('retry against Aurora DSQL', () => {
  function harness() {
    const draws = [0.9, 0.1, 0.5, 0.7]
    return retryHarness({ maxThrottleMs: 10_000, context, random: () => draws.shift() ?? 1 })
  }

  function failing(...errors: Error[]) {
    return async (): Promise<string> => {
      const error = errors.shift()
      if (error) throw error
      return 'connected'
    }
  }

  it('backs off with full jitter on 53400 until the cluster accepts, without signing again', async () => {
    const h = harness()
    const rate = () => dsqlError('53400', 'Unable to accept connection, rate exceeded.')
    await expect(h.retry(failing(rate(), rate(), rate()))).resolves.toBe('connected')
    // Ceilings 100, 200, 400 ms, each scaled by the random draw.
    expect(h.sleeps).toEqual([90, 20, 200])
    expect(h.invalidations()).toBe(0)
    expect(eventsOfType(h.events, 'auth-retry').map((e) => e.kind)).toEqual([
      'throttled',
      'throttled',
      'throttled',
    ])
  })

  it('signs again once for an expired token, and gives up on a policy refusal at once', async () => {
    const expired = () => dsqlError('08006', ACCESS_DENIED, 'Signature expired: 20261208T010000Z')
    const once = harness()
    await expect(once.retry(failing(expired()))).resolves.toBe('connected')
    expect(once.invalidations()).toBe(1)
    const policy = harness()
    const denied = dsqlError(
      '08006',
      ACCESS_DENIED,
      'User: arn:aws:iam::1:user/x is not authorized to perform: dsql:DbConnect',
    )
    await expect(policy.retry(failing(denied))).rejects.toMatchObject({
      name: 'RdsIamError',
      code: 'token-rejected',
    })
    expect(policy.invalidations()).toBe(0)
  })

  it('never hands on a DSQL token that a driver quoted in its error', async () => {
    const token = `${HOST}/?Action=DbConnect&X-Amz-Credential=AKIA%2F20261208%2Feu-west-2%2Fdsql%2Faws4_request&X-Amz-Signature=${'f'.repeat(64)}&X-Amz-SignedHeaders=host`
    const h = harness()
    const quoted = dsqlError(
      '53300',
      `Unable to accept connection, too many open connections. password=${token}`,
    )
    const error = await h.retry(failing(...Array.from({ length: 50 }, () => quoted))).catch((e: unknown) => e)
    expect(String((error as Error).message)).toMatch(/throttled/)
    const everything = JSON.stringify([
      (error as Error).message,
      (error as Error).stack,
      String((error as Error).cause),
    ])
    expect(everything).not.toContain('f'.repeat(64))
    expect(everything).toContain('X-Amz-Signature=[redacted]')
  })
})
