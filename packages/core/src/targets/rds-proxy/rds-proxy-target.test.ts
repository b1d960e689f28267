import { describe, expect, it } from 'vitest'
import { classifyError } from '../../classify-error'
import { driverError } from '../../test-helpers'
import type { ErrorContext, ErrorKind } from '../../types'
import { detectTarget } from '../resolve-target'
import { isRdsProxyEndpoint } from './rds-proxy-endpoint'

const proxy: ErrorContext = {
  host: '127.0.0.1',
  port: 5432,
  tokenHost: 'orders.proxy-abc123xyz.eu-west-1.rds.amazonaws.com',
  user: 'app',
  region: 'eu-west-1',
}

// Every PostgreSQL text of the RDS Proxy troubleshooting guide that rds-iam can meet, with the SQLSTATE the
// emulator's proxy mode sends: what the class is, whether retry() tries again, and a word the hint must name.
const rows: [string, string | undefined, string, ErrorKind, boolean, string][] = [
  [
    'IAM without TLS',
    '28000',
    'IAM authentication is allowed only with SSL connections.',
    'tls-required',
    false,
    'TLS',
  ],
  [
    'IAM without TLS, short form',
    '28000',
    'IAM is allowed only with SSL connections.',
    'tls-required',
    false,
    'TLS',
  ],
  [
    'Require TLS on',
    '28000',
    'This RDS Proxy requires TLS connections.',
    'tls-required',
    false,
    'Require TLS',
  ],
  [
    'rejected token for a user',
    '28P01',
    'IAM authentication failed for user app. Check the IAM token for this user and try again.',
    'token-rejected',
    true,
    'prx-',
  ],
  [
    'rejected token for a role',
    '28P01',
    'The IAM authentication failed for the role app. Check the IAM token for this role and try again.',
    'token-rejected',
    true,
    'IAMAuth REQUIRED',
  ],
  [
    'competing requests',
    '53300',
    'The IAM authentication failed because of too many competing requests.',
    'throttled',
    true,
    'fewer connections',
  ],
  ['connect rate', '53300', 'Rate of connection to proxy exceeded 5.', 'throttled', true, 'rate limit'],
  [
    'client connections',
    '53300',
    'The maximum number of client connections to the proxy exceeded 20.',
    'throttled',
    true,
    'smaller pool',
  ],
  [
    'borrow timeout',
    undefined,
    'Timed-out waiting to acquire database connection.',
    'throttled',
    true,
    'ConnectionBorrowTimeout',
  ],
  [
    'no secret for the role',
    '28000',
    'This RDS proxy has no credentials for the role app. Check the credentials for this role and try again.',
    'config',
    false,
    'Secrets Manager',
  ],
  [
    'token taken as a password',
    '28P01',
    'The password that was provided for the role app is wrong.',
    'config',
    false,
    'IAMAuth to REQUIRED',
  ],
  ['SCRAM refused', '28000', 'RDS supports only IAM or MD5 authentication.', 'config', false, 'IAMAuth'],
  [
    'SCRAM refused, newer text',
    '28000',
    'RDS Proxy supports only IAM, MD5, or SCRAM authentication.',
    'config',
    false,
    'IAMAuth',
  ],
  [
    'unsupported startup option',
    '0A000',
    "Feature not supported: RDS Proxy currently doesn't support the option statement_timeout.",
    'config',
    false,
    'ALTER ROLE "app" SET',
  ],
  [
    'replication',
    '0A000',
    "Feature not supported: RDS Proxy currently doesn't support streaming replication mode.",
    'config',
    false,
    'database endpoint',
  ],
  [
    'no user',
    '28000',
    'A user name is missing from the connection startup packet. Provide a user name for this connection.',
    'config',
    false,
    'PGUSER',
  ],
]

describe('classifyError on RDS Proxy texts', () => {
  it.each(rows)('%s', (_name, code, message, kind, retryable, hintNames) => {
    const classification = classifyError(driverError(code, message), proxy)
    expect(classification).toMatchObject({ kind, retryable })
    expect(classification.hint).toContain(hintNames)
  })

  it('names the proxy resource id and IAM auth on the proxy for a PAM-worded rejection of a proxy endpoint', () => {
    const { hint } = classifyError(driverError('28000', 'PAM authentication failed for user "app"'), proxy)
    expect(hint).toContain('arn:aws:rds-db:eu-west-1:<account>:dbuser:prx-<proxy resource id>/app')
    expect(hint).toContain('IAM authentication is enabled on the proxy')
    expect(hint).not.toContain('DbiResourceId')
  })

  it('keeps the database resource id for a rejection by an instance or cluster endpoint', () => {
    const cluster = { ...proxy, tokenHost: 'orders.cluster-abc123xyz.eu-west-1.rds.amazonaws.com' }
    const { hint } = classifyError(driverError('28000', 'PAM authentication failed for user "app"'), cluster)
    expect(hint).toContain('DbiResourceId')
    expect(hint).not.toContain('prx-')
  })

  it('names the Amazon Root CAs when a proxy certificate does not verify, and the RDS CA otherwise', () => {
    const failure = driverError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate')
    expect(classifyError(failure, proxy)).toMatchObject({ kind: 'config', retryable: false })
    expect(classifyError(failure, proxy).hint).toContain('Amazon Root CA 1-4')
    expect(classifyError(failure, proxy).hint).toContain('ssl.ca')
    const instance = { ...proxy, tokenHost: 'orders.abc123xyz.eu-west-1.rds.amazonaws.com' }
    expect(classifyError(failure, instance).hint).not.toContain('Amazon Root CA')
  })
})

describe('classifyError on RDS Proxy texts from a name that does not say proxy', () => {
  it.each(rows)('%s', (_name, code, message, kind, retryable) => {
    const cname = { ...proxy, tokenHost: 'db.internal.example.com' }
    expect(classifyError(driverError(code, message), cname)).toMatchObject({ kind, retryable })
    expect(classifyError(driverError(code, message))).toMatchObject({ kind, retryable })
  })
})

describe('isRdsProxyEndpoint', () => {
  it.each([
    'orders.proxy-abc123xyz.us-east-1.rds.amazonaws.com',
    'readers.endpoint.proxy-abc123xyz.eu-west-1.rds.amazonaws.com',
    'Orders.Proxy-ABC123XYZ.US-EAST-1.RDS.AMAZONAWS.COM.',
    'orders.proxy-abc123xyz.rds.cn-north-1.amazonaws.com.cn',
    'orders.proxy-abc123xyz.us-gov-west-1.rds.amazonaws.com',
  ])('knows %s for a proxy endpoint, the rds-proxy target', (host) => {
    expect(isRdsProxyEndpoint(host)).toBe(true)
    expect(detectTarget(host).kind).toBe('rds-proxy')
  })

  it.each([
    'orders.cluster-abc123xyz.us-east-1.rds.amazonaws.com',
    'orders.cluster-ro-abc123xyz.us-east-1.rds.amazonaws.com',
    'orders.abc123xyz.us-east-1.rds.amazonaws.com',
    'proxy-abc123xyz.us-east-1.rds.amazonaws.com',
    'orders.proxy-abc123xyz.us-east-1.rds.amazonaws.com.evil.example',
    'orders.proxy.example.com',
    '127.0.0.1',
  ])('does not take %s for one', (host) => {
    expect(isRdsProxyEndpoint(host)).toBe(false)
    expect(detectTarget(host).kind).not.toBe('rds-proxy')
  })
})
