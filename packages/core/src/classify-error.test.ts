import { describe, expect, it } from 'vitest'
import { classifyError } from './classify-error'
import { RdsIamError } from './errors'
import { driverError } from './test-helpers'
import type { ErrorKind } from './types'

const named = (name: string, message: string, code?: string): Error =>
  Object.assign(new Error(message), { name }, code === undefined ? {} : { code })

const rows: [string, unknown, ErrorKind, boolean][] = [
  [
    'PAM failure (28000)',
    driverError('28000', 'PAM authentication failed for user "app"'),
    'token-rejected',
    true,
  ],
  [
    'RDS Proxy IAM failure (28P01)',
    driverError(
      '28P01',
      'The IAM authentication failed for the role app. Check the IAM token for this role and try again.',
    ),
    'token-rejected',
    true,
  ],
  [
    'pg_hba rejection with SSL off (28000)',
    driverError(
      '28000',
      'pg_hba.conf rejects connection for host "10.0.0.1", user "app", database "app", SSL off',
    ),
    'tls-required',
    false,
  ],
  [
    'pg_hba rejection with no encryption (28000)',
    driverError(
      '28000',
      'pg_hba.conf rejects connection for host "10.0.0.1", user "app", database "app", no encryption',
    ),
    'tls-required',
    false,
  ],
  [
    'no pg_hba entry, no encryption (28000)',
    driverError(
      '28000',
      'no pg_hba.conf entry for host "10.0.0.1", user "app", database "app", no encryption',
    ),
    'tls-required',
    false,
  ],
  [
    'RDS Proxy "IAM only with SSL"',
    driverError(undefined, 'IAM is allowed only with SSL connections.'),
    'tls-required',
    false,
  ],
  [
    'RDS Proxy "requires TLS"',
    driverError('08P01', 'This RDS Proxy requires TLS connections'),
    'tls-required',
    false,
  ],
  [
    'password failure of a non-IAM user (28P01)',
    driverError('28P01', 'password authentication failed for user "app"'),
    'not-iam-user',
    false,
  ],
  [
    'RDS Proxy competing requests',
    driverError(undefined, 'The IAM authentication failed because of too many competing requests.'),
    'throttled',
    true,
  ],
  [
    'authentication timeout (57014)',
    driverError('57014', 'canceling authentication due to timeout'),
    'throttled',
    true,
  ],
  ['node-postgres dropped connection', new Error('Connection terminated unexpectedly'), 'throttled', true],
  [
    'postgres.js CONNECTION_CLOSED',
    driverError('CONNECTION_CLOSED', 'write CONNECTION_CLOSED db:5432'),
    'throttled',
    true,
  ],
  // The application ended the pool itself: backing off would only delay the error.
  [
    'postgres.js CONNECTION_ENDED',
    driverError('CONNECTION_ENDED', 'write CONNECTION_ENDED db:5432'),
    'unknown',
    false,
  ],
  ['ECONNRESET during auth', driverError('ECONNRESET', 'read ECONNRESET'), 'throttled', true],
  [
    'CredentialsProviderError',
    named('CredentialsProviderError', 'Could not load credentials from any providers'),
    'credentials',
    false,
  ],
  ['TokenProviderError', named('TokenProviderError', 'No token found'), 'credentials', false],
  [
    'unknown profile',
    named(
      'CredentialsProviderError',
      'Could not resolve credentials using profile: [nope] in configuration/credentials file(s).',
    ),
    'credentials',
    false,
  ],
  [
    'expired SSO session',
    named(
      'CredentialsProviderError',
      'The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.',
    ),
    'credentials',
    false,
  ],
  [
    'ExpiredToken from STS',
    named('ExpiredToken', 'The security token included in the request is expired'),
    'credentials',
    false,
  ],
  ['ExpiredTokenException code', driverError('ExpiredTokenException', 'Token expired'), 'credentials', false],
  ['ECONNREFUSED', driverError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:5432'), 'network', false],
  ['ENOTFOUND', driverError('ENOTFOUND', 'getaddrinfo ENOTFOUND db.example.com'), 'network', false],
  ['ETIMEDOUT', driverError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:5432'), 'network', false],
  ['EHOSTUNREACH', driverError('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:5432'), 'network', false],
  [
    'wrong host name on the certificate',
    driverError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
    'config',
    false,
  ],
  [
    'self-signed certificate in chain',
    driverError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
    'config',
    false,
  ],
  [
    'unverifiable leaf',
    driverError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
    'config',
    false,
  ],
  [
    'self-signed leaf',
    driverError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
    'config',
    false,
  ],
  [
    'database does not exist (3D000)',
    driverError('3D000', 'database "nope" does not exist'),
    'unknown',
    false,
  ],
  [
    '28000 that is not about PAM or TLS',
    driverError('28000', 'role "app" is not permitted to log in'),
    'unknown',
    false,
  ],
  [
    '28P01 password message without the code',
    driverError(undefined, 'password authentication failed for user "app"'),
    'unknown',
    false,
  ],
  ['a thrown string', 'boom', 'unknown', false],
  ['undefined', undefined, 'unknown', false],
]

describe('classifyError', () => {
  it.each(rows)('%s', (_name, error, kind, retryable) => {
    const classification = classifyError(error)
    expect(classification).toMatchObject({ kind, retryable })
    expect(classification.hint.length).toBeGreaterThan(20)
  })

  it('names the grant and the policy resource in the hint for a rejected token', () => {
    const { hint } = classifyError(driverError('28000', 'PAM authentication failed for user "app"'), {
      user: 'app',
      region: 'eu-west-1',
      tokenHost: 'db.cluster-abc.eu-west-1.rds.amazonaws.com',
    })
    expect(hint).toContain('GRANT rds_iam TO "app"')
    expect(hint).toContain('rds-db:connect')
    expect(hint).toContain(
      'arn:aws:rds-db:eu-west-1:<account>:dbuser:<DbiResourceId or cluster-resource-id>/app',
    )
    expect(hint).toContain('db.cluster-abc.eu-west-1.rds.amazonaws.com')
  })

  it('gives concrete fixes for the other kinds', () => {
    const hintOf = (error: unknown) =>
      classifyError(error, { user: 'app', profile: 'dev', host: '127.0.0.1', port: 6432 }).hint
    expect(hintOf(driverError('28P01', 'password authentication failed for user "app"'))).toContain(
      'GRANT rds_iam TO "app"',
    )
    expect(
      hintOf(
        driverError('28000', 'pg_hba.conf rejects connection for host "h", user "u", database "d", SSL off'),
      ),
    ).toMatch(/TLS/)
    expect(hintOf(named('CredentialsProviderError', 'SSO session has expired'))).toContain(
      'aws sso login --profile dev',
    )
    expect(
      hintOf(named('CredentialsProviderError', 'Could not load credentials from any providers')),
    ).toContain('Profile "dev" gave no credentials')
    expect(
      classifyError(named('CredentialsProviderError', 'Could not load credentials from any providers')).hint,
    ).toContain('AWS_ACCESS_KEY_ID')
    expect(hintOf(driverError('ERR_TLS_CERT_ALTNAME_INVALID', 'altnames'))).toMatch(/tokenHost.*ssl\.ca/)
    expect(hintOf(driverError('ECONNREFUSED', 'refused'))).toContain('127.0.0.1:6432')
  })

  it('keeps the code and hint of an RdsIamError and never retries it', () => {
    expect(classifyError(new RdsIamError('credentials', 'x', { hint: 'log in' }))).toEqual({
      kind: 'credentials',
      retryable: false,
      hint: 'log in',
    })
    expect(classifyError(new RdsIamError('region-missing', 'x', { hint: 'set region' })).kind).toBe('config')
    expect(classifyError(new RdsIamError('ssl-required', 'x', { hint: 'keep TLS' })).kind).toBe('config')
  })

  it('looks through wrapping errors to their cause', () => {
    const wrapped = new Error('connect failed', {
      cause: driverError('28000', 'PAM authentication failed for user "app"'),
    })
    expect(classifyError(wrapped).kind).toBe('token-rejected')
  })
})
