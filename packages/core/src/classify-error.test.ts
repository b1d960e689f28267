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
    "the emulator's direct mode: LDAP failure (28000)",
    driverError('28000', 'LDAP authentication failed for user "app"'),
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
  ['EPIPE during auth', driverError('EPIPE', 'write EPIPE'), 'throttled', true],
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
  ['expired certificate', driverError('CERT_HAS_EXPIRED', 'certificate has expired'), 'config', false],
  ['revoked certificate', driverError('CERT_REVOKED', 'certificate revoked'), 'config', false],
  [
    'issuer not among the CAs',
    driverError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'),
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

// What ORMs and pools throw around a driver's error, shaped as each library builds it.
const pgError = (code: string, message: string) => driverError(code, message)

function sequelizeConnectionError(name: string, parent: Error): Error {
  // Sequelize copies the driver's message but not its code, and keeps the driver error twice.
  return Object.assign(new Error(parent.message), { name, parent, original: parent })
}

function typeormQueryFailedError(driverError: Error): Error {
  return Object.assign(new Error('Query failed'), { name: 'QueryFailedError', driverError })
}

describe('classifyError through wrappers', () => {
  it.each([
    [
      "Sequelize's AccessDeniedError around a password failure",
      sequelizeConnectionError(
        'SequelizeAccessDeniedError',
        pgError('28P01', 'password authentication failed for user "app"'),
      ),
      'not-iam-user',
    ],
    [
      "Sequelize's ConnectionError around an unencrypted rejection",
      sequelizeConnectionError(
        'SequelizeConnectionError',
        pgError(
          '28000',
          'no pg_hba.conf entry for host "10.0.0.1", user "app", database "app", no encryption',
        ),
      ),
      'tls-required',
    ],
    [
      "TypeORM's QueryFailedError around a dropped connection",
      typeormQueryFailedError(pgError('ECONNRESET', 'read ECONNRESET')),
      'throttled',
    ],
    [
      "Prisma's error quoting the PAM failure under its own code",
      Object.assign(
        new Error(
          'Authentication failed against the database server: PAM authentication failed for user "app"',
        ),
        { name: 'PrismaClientInitializationError', errorCode: 'P1000' },
      ),
      'token-rejected',
    ],
    [
      "Prisma's driver adapter error keeping the SQLSTATE as originalCode",
      Object.assign(new Error('DriverAdapterError'), {
        cause: {
          kind: 'AuthenticationFailed',
          originalCode: '28P01',
          originalMessage: 'password authentication failed for user "app"',
        },
      }),
      'not-iam-user',
    ],
    [
      'a cause three wrappers deep',
      new Error('a', {
        cause: new Error('b', {
          cause: typeormQueryFailedError(pgError('28000', 'PAM authentication failed for user "app"')),
        }),
      }),
      'token-rejected',
    ],
  ])('%s', (_name, error, kind) => {
    expect(classifyError(error).kind).toBe(kind)
  })

  it('lets the outermost error that says something win', () => {
    const timeout = new Error('Connection terminated due to connection timeout', {
      cause: new Error('Connection terminated unexpectedly'),
    })
    expect(classifyError(timeout).kind).toBe('network')
  })

  it('ends on a cycle and gives up beyond a bounded depth', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' }
    const b = { message: 'b', cause: a }
    a.cause = b
    expect(classifyError(a).kind).toBe('unknown')

    let deep: unknown = pgError('28000', 'PAM authentication failed for user "app"')
    for (let i = 0; i < 20; i++) deep = { message: `wrapper ${i}`, cause: deep }
    expect(classifyError(deep).kind).toBe('unknown')
  })
})

describe('classifyError of connect timeouts', () => {
  it.each([
    [
      "pg-pool's connectionTimeoutMillis",
      new Error('Connection terminated due to connection timeout', {
        cause: new Error('Connection terminated unexpectedly'),
      }),
    ],
    ["pg's own connect timeout", new Error('timeout expired')],
    [
      "postgres.js's connect_timeout",
      driverError('CONNECT_TIMEOUT', 'write CONNECT_TIMEOUT db.example.com:5432'),
    ],
  ])('%s is a network failure, not throttling, and is not retried', (_name, error) => {
    const { kind, retryable, hint } = classifyError(error, { host: 'db.example.com', port: 5432 })
    expect({ kind, retryable }).toEqual({ kind: 'network', retryable: false })
    expect(hint).toContain('db.example.com:5432')
    expect(hint).toMatch(/connectionTimeoutMillis.*connect_timeout/)
  })
})

describe('classifyError of credential failures', () => {
  it('points a failing credential_process at the process, not at SSO or missing keys', () => {
    const error = named(
      'CredentialsProviderError',
      'Command failed: /usr/local/bin/vault-creds\nvault: sso session expired, run vault login\n',
    )
    const { kind, hint } = classifyError(error, { profile: 'vault' })
    expect(kind).toBe('credentials')
    expect(hint).toContain('credential_process of profile "vault"')
  })
})

describe('classifyError on errors Prisma rethrows', () => {
  it('reads the RdsIamError code and hint that a PrismaClientKnownRequestError keeps', () => {
    const wrapped = Object.assign(
      new Error(
        'IAM sign-in as "app" to db:5432 failed (not-iam-user): password authentication failed for user "app" Hint: GRANT rds_iam TO "app".',
      ),
      { name: 'PrismaClientKnownRequestError', code: 'not-iam-user' },
    )
    expect(classifyError(wrapped)).toEqual({
      kind: 'not-iam-user',
      retryable: false,
      hint: 'GRANT rds_iam TO "app".',
    })
    const sslRequired = Object.assign(new Error('TLS cannot be turned off. Hint: keep TLS.'), {
      name: 'PrismaClientKnownRequestError',
      code: 'ssl-required',
    })
    expect(classifyError(sslRequired).kind).toBe('config')
  })

  it("leaves Prisma's own codes to the other rules", () => {
    const prismaOwn = Object.assign(new Error('Unique constraint failed'), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2002',
    })
    expect(classifyError(prismaOwn).kind).toBe('unknown')
  })
})
