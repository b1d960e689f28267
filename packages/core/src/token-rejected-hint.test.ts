import { describe, expect, it } from 'vitest'
import { classifyError } from './classify-error'
import { driverError } from './test-helpers'
import { tokenRejectedHint } from './token-rejected-hint'
import type { ErrorContext } from './types'

const ENDPOINT = 'mydb.cluster-abc123.eu-west-1.rds.amazonaws.com'

describe('tokenRejectedHint', () => {
  it('gives the general checklist when nothing visible is wrong', () => {
    const hint = tokenRejectedHint({
      host: ENDPOINT,
      port: 5432,
      tokenHost: ENDPOINT,
      tokenPort: 5432,
      region: 'eu-west-1',
      user: 'app',
    })
    expect(hint).toMatch(/^Check that the database user is granted rds_iam \(GRANT rds_iam TO "app"\)/)
    expect(hint).toContain('arn:aws:rds-db:eu-west-1:<account>:dbuser:')
  })

  it('names a region option that differs from the region in the endpoint name', () => {
    const hint = tokenRejectedHint({ host: ENDPOINT, tokenHost: ENDPOINT, region: 'us-east-1' })
    expect(hint).toMatch(
      /^The token was signed for region us-east-1, but mydb\.cluster-abc123\.eu-west-1\.rds\.amazonaws\.com is in eu-west-1/,
    )
    expect(hint).toContain("set it to 'eu-west-1'")
    expect(hint).toContain('If that is not it: Check that')
  })

  it.each(['127.0.0.1', 'localhost', '::1', '10.0.4.17'])(
    'names a token signed for the tunnel or address %s itself',
    (host) => {
      const hint = tokenRejectedHint({
        host,
        port: 5432,
        tokenHost: host,
        tokenPort: 5432,
        region: 'eu-west-1',
      })
      expect(hint).toContain(`The token was signed for ${host}`)
      expect(hint).toContain('set `tokenHost` to the RDS endpoint')
    },
  )

  it("names a tunnel's local port used as the token port when tokenPort was left to follow it", () => {
    const context: ErrorContext = { host: 'localhost', port: 15432, tokenHost: ENDPOINT }
    const hint = tokenRejectedHint(context)
    expect(hint).toContain('The token was signed for port 15432, the port dialed on localhost')
    expect(hint).toContain('set `tokenPort: 5432`')
    expect(tokenRejectedHint({ ...context, tokenPort: 5432 })).toMatch(/^Check that/)
    // Set on purpose to the dialed port (a tunnel that keeps the port, a local emulator): taken as meant.
    expect(tokenRejectedHint({ ...context, tokenPort: 15432 })).toMatch(/^Check that/)
    // Dialing the endpoint itself on another port is a choice of the instance, not a tunnel mistake.
    expect(tokenRejectedHint({ host: ENDPOINT, port: 15432, tokenHost: ENDPOINT, tokenPort: 15432 })).toMatch(
      /^Check that/,
    )
  })

  it.each([
    [5 * 60_000, '5 minutes ahead of'],
    [-3.5 * 60_000, '3.5 minutes behind'],
  ])('names a clock %d ms off the server', (clockSkewMs, words) => {
    expect(tokenRejectedHint({ clockSkewMs })).toContain(`The local clock is ${words} the server's`)
  })

  it('does not blame a clock that is only seconds off', () => {
    expect(tokenRejectedHint({ clockSkewMs: 20_000 })).toMatch(/^Check that/)
  })

  it('lists every mismatch it sees', () => {
    const hint = tokenRejectedHint({
      host: '127.0.0.1',
      port: 5432,
      region: 'us-east-1',
      clockSkewMs: -600_000,
    })
    expect(hint).toContain('signed for 127.0.0.1')
    expect(hint).toContain('10 minutes behind')
  })

  it('is what classifyError says for a rejected token', () => {
    const rejected = driverError('28000', 'PAM authentication failed for user "app"')
    const { kind, hint } = classifyError(rejected, {
      host: 'localhost',
      port: 15432,
      tokenHost: ENDPOINT,
    })
    expect(kind).toBe('token-rejected')
    expect(hint).toContain('set `tokenPort: 5432`')
  })
})
