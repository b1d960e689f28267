import { errorChain } from './error-links'
import { isRdsIamError } from './errors'
import { allTargets, detectTarget, targetOf } from './targets/resolve-target'
import type { ErrorFacts, Target } from './targets/target'
import { tokenRejectedHint } from './token-rejected-hint'
import type { ErrorClassification, ErrorContext, ErrorKind, RdsIamErrorCode } from './types'

type Predicate = (facts: ErrorFacts) => boolean

interface Rule {
  matches: Predicate
  kind: ErrorKind
  hint: (context: ErrorContext) => string
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
const IS_ERROR_KIND: Record<ErrorKind, true> = {
  'token-rejected': true,
  'tls-required': true,
  'not-iam-user': true,
  throttled: true,
  credentials: true,
  network: true,
  config: true,
  unknown: true,
}
// Typed as a record so the compiler keeps it in step with the RdsIamErrorCode union.
const IS_ERROR_CODE: Record<RdsIamErrorCode, true> = {
  ...IS_ERROR_KIND,
  'region-missing': true,
  'ssl-required': true,
}

// A predicate on the message alone, for failures that only their wording identifies.
const messageSays =
  (pattern: RegExp): Predicate =>
  (facts) =>
    pattern.test(facts.message)

// RDS answers every bad token (expired, wrong signature, user, region, host or policy) with this 28000. Only PAM
// sign-in says it, so ORMs that quote it under their own code (Prisma's P1000, a wrapper with none) mean the same.
// The emulator's direct mode has PostgreSQL check tokens over LDAP, whose failure says LDAP instead; RDS offers no
// LDAP sign-in, so that wording means a rejected token too.
const isTokenCheckFailure = messageSays(/(PAM|LDAP) authentication failed/i)

// 28000 also covers pg_hba.conf rejections; IAM users are only allowed in on encrypted connections.
const isUnencryptedRejection: Predicate = (f) =>
  f.code === '28000' && /pg_hba\.conf/i.test(f.message) && /SSL off|no encryption/i.test(f.message)

// A user without rds_iam is asked for its real password, so the token fails as a password.
const isNonIamPasswordFailure: Predicate = (f) =>
  f.code === '28P01' && /password authentication failed/i.test(f.message)

// An overloaded server gives up on authentication with 57014 while it is still checking the token.
const isAuthTimeout: Predicate = (f) =>
  f.code === '57014' && /canceling authentication due to timeout/i.test(f.message)

// The connect ran out of the user's own time limit: pg-pool wraps the dropped connection in the first message, pg
// destroys its socket with the second, postgres.js says CONNECT_TIMEOUT. More time or a reachable host is the
// fix, not backing off; checked before the drops below, which pg-pool's timeout error wraps.
const isConnectTimeout: Predicate = (f) =>
  /Connection terminated due to connection timeout|^timeout expired$/i.test(f.message) ||
  f.code === 'CONNECT_TIMEOUT'

// RDS drops new connections it cannot authenticate in time: node-postgres and postgres.js report it like this,
// and a driver still writing its startup or password when the drop arrives gets EPIPE instead of ECONNRESET.
// postgres.js's CONNECTION_ENDED is not among them: it means the application ended the pool itself.
const isDroppedDuringAuth: Predicate = (f) =>
  /Connection terminated unexpectedly/i.test(f.message) ||
  f.code === 'CONNECTION_CLOSED' ||
  f.code === 'ECONNRESET' ||
  f.code === 'EPIPE'

// The SSO provider says so when the cached `aws sso login` session has run out.
const isExpiredSsoSession = messageSays(/SSO session .*(expired|invalid)|sso.*token.*expired/i)

// The process provider reports a failing credential_process as Node's exec does, with the process's stderr.
const isCredentialProcessFailure: Predicate = (f) =>
  f.name === 'CredentialsProviderError' && /^Command failed: |credential_process/i.test(f.message)

// The ini and SSO providers name a profile they cannot find.
const isUnknownProfile = messageSays(
  /profile \S+ (could not be found|not found)|Could not resolve credentials using profile/i,
)

// STS and the services name credentials past their expiration this way.
const isExpiredCredentials: Predicate = (f) =>
  /^ExpiredToken(Exception)?$/.test(f.name) || /^ExpiredToken(Exception)?$/.test(f.code)

// The provider chain and every provider fail with these names when they have nothing to offer.
const isMissingCredentials: Predicate = (f) =>
  f.name === 'CredentialsProviderError' ||
  f.name === 'TokenProviderError' ||
  /Could not load credentials from any providers/i.test(f.message)

// A rule that holds when any of several signs of the same failure does.
const anyOf =
  (...predicates: Predicate[]): Predicate =>
  (facts) =>
    predicates.some((matches) => matches(facts))

// Node's TLS layer names the certificate check that failed: its own ERR_TLS_CERT_ALTNAME_INVALID or OpenSSL's
// verification result, whose names all say CERT (SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED, CERT_REVOKED, ...)
// but for the unverifiable first certificate.
const isCertificateFailure: Predicate = (f) => /CERT|^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/.test(f.code)

// The host could not be reached at all, before any TLS or authentication.
const isNetworkFailure: Predicate = (f) => NETWORK_CODES.has(f.code)

const profileName = (c: ErrorContext): string => c.profile ?? '<profile>'

const target = (c: ErrorContext): string => `${c.host ?? 'the database'}${c.port ? `:${c.port}` : ''}`

// The provider chain reports an unknown profile as "no credentials", so the hint names the profile when known.
export function missingCredentialsHint(c: ErrorContext): string {
  if (c.profile !== undefined) {
    return `Profile "${c.profile}" gave no credentials: check that it exists in ~/.aws/config or ~/.aws/credentials with keys, a role, SSO or a credential_process; for SSO run \`aws sso login --profile ${c.profile}\`.`
  }
  return 'No AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile (the `profile` option or AWS_PROFILE; `aws sso login --profile <name>` for SSO), run where a role is attached, or pass `credentials`.'
}

// RDS Proxy's texts are the RDS and RDS Proxy targets' own rules (targets/rds-proxy), checked before these.
const RULES: readonly Rule[] = [
  {
    matches: isTokenCheckFailure,
    kind: 'token-rejected',
    hint: tokenRejectedHint,
  },
  {
    matches: isUnencryptedRejection,
    kind: 'tls-required',
    hint: () =>
      'RDS accepts IAM tokens only over TLS: give the driver the TLS options of IamAuth.tls(), never ssl: false, and make sure a tunnel forwards TLS to the server.',
  },
  {
    matches: isNonIamPasswordFailure,
    kind: 'not-iam-user',
    hint: (c) =>
      `The database user is not an IAM user, so the server asked for its password: as an admin run GRANT rds_iam TO "${c.user ?? '<user>'}", or connect as a user that has it.`,
  },
  {
    matches: isConnectTimeout,
    kind: 'network',
    hint: (c) =>
      `Connecting to ${target(c)} took longer than the connect timeout (pg's connectionTimeoutMillis, postgres.js's connect_timeout): the host may be unreachable or slow to sign in. Check the host, port and any tunnel, or allow more time.`,
  },
  {
    matches: anyOf(isAuthTimeout, isDroppedDuringAuth),
    kind: 'throttled',
    hint: () =>
      'RDS limits new IAM connections (about 200 a second per instance) and drops or delays the rest: reuse connections through a pool and open fewer at once.',
  },
  {
    matches: isCredentialProcessFailure,
    kind: 'credentials',
    hint: (c) =>
      `The credential_process of profile "${profileName(c)}" failed with the message quoted in this error: run that command from ~/.aws/config by hand to see it fail, then fix it or log in to the tool it calls.`,
  },
  {
    matches: isExpiredSsoSession,
    kind: 'credentials',
    hint: (c) => `The AWS SSO session expired: run \`aws sso login --profile ${profileName(c)}\`.`,
  },
  {
    matches: isUnknownProfile,
    kind: 'credentials',
    hint: (c) =>
      `Profile "${profileName(c)}" is not in ~/.aws/config or ~/.aws/credentials: check the \`profile\` option and AWS_PROFILE, or run \`aws configure --profile ${profileName(c)}\`.`,
  },
  {
    matches: isExpiredCredentials,
    kind: 'credentials',
    hint: (c) =>
      `The AWS credentials expired: refresh them (\`aws sso login --profile ${profileName(c)}\`, new environment variables, or a new session from your credential process).`,
  },
  { matches: isMissingCredentials, kind: 'credentials', hint: (c) => missingCredentialsHint(c) },
  {
    matches: isCertificateFailure,
    kind: 'config',
    hint: (c) =>
      `The server certificate did not verify: when dialing a tunnel or alias set \`tokenHost\` to the RDS endpoint the certificate names (now ${c.tokenHost ?? 'the dialed host'}), and make sure \`ssl.ca\` holds the CA that issued it (the default is the Amazon RDS CAs plus Node's roots).`,
  },
  {
    matches: isNetworkFailure,
    kind: 'network',
    hint: (c) =>
      `Could not reach ${target(c)}: check the host name, port, security groups, routing and any tunnel.`,
  },
]

const UNKNOWN: ErrorClassification = {
  kind: 'unknown',
  retryable: false,
  hint: 'This is not an IAM authentication failure; see the original error.',
}

/**
 * Says why a connect or token attempt failed, whether `retry()` tries again, and how to fix it. It reads the
 * SQLSTATE and the message (28000 alone is not a token failure) of the error and of the errors it wraps (`cause`,
 * Sequelize's `parent`/`original`, TypeORM's `driverError`), outermost first, and assumes the error comes from
 * connecting.
 * @example
 * const { kind, retryable, hint } = classifyError(error, { user: 'app', region: 'eu-west-1' })
 */
export function classifyError(error: unknown, context: ErrorContext = {}): ErrorClassification {
  const targets = targetsOf(context)
  for (const current of errorChain(error)) {
    // Core has already decided about its own errors, including whether they were retried.
    if (isRdsIamError(current))
      return { kind: kindOfCode(current.code), retryable: false, hint: current.hint }
    if (isPrismaWrappedRdsIamError(current)) {
      return { kind: kindOfCode(current.code), retryable: false, hint: hintInMessage(current.message) }
    }
    const facts = factsOf(current)
    for (const target of targets) {
      const own = target.errorRules.find((candidate) => candidate.matches(facts))
      if (own)
        return { kind: own.kind, retryable: own.retryable ?? isRetryable(own.kind), hint: own.hint(context) }
    }
    const rule = RULES.find((candidate) => candidate.matches(facts))
    if (rule) {
      const hint = targets.length === 1 ? (targets[0]?.hints[rule.kind] ?? rule.hint) : rule.hint
      return { kind: rule.kind, retryable: isRetryable(rule.kind), hint: hint(context) }
    }
  }
  return UNKNOWN
}

// The endpoint's own answers are recognised first: of the target the context names, else of the one its host
// names, else (nothing known about the endpoint) of every target, whose texts do not overlap.
function targetsOf(context: ErrorContext): readonly Target[] {
  const host = context.tokenHost ?? context.host
  if (context.target === undefined && host === undefined) return allTargets()
  const target = context.target === undefined ? detectTarget(host ?? '') : targetOf(context.target)
  // A name taken for RDS (a CNAME, an address, a tunnel without the `target` option) may lead to an RDS Proxy,
  // whose own texts say so whatever the name.
  return target.kind === 'rds' ? [target, targetOf('rds-proxy')] : [target]
}

// Prisma rethrows what a driver adapter throws as its own PrismaClientKnownRequestError: the RdsIamError's code
// and message (which ends with the hint) survive, the object does not.
function isPrismaWrappedRdsIamError(error: object): error is { code: string; message: string } {
  const { name, code, message } = error as Record<string, unknown>
  return (
    name === 'PrismaClientKnownRequestError' &&
    typeof message === 'string' &&
    typeof code === 'string' &&
    Object.hasOwn(IS_ERROR_CODE, code)
  )
}

function hintInMessage(message: string): string {
  const at = message.lastIndexOf(' Hint: ')
  return at === -1 ? message : message.slice(at + ' Hint: '.length).trim()
}

function isRetryable(kind: ErrorKind): boolean {
  return kind === 'token-rejected' || kind === 'throttled'
}

// The codes that are not kinds (region-missing, ssl-required) are configuration problems.
function kindOfCode(code: string): ErrorKind {
  return Object.hasOwn(IS_ERROR_KIND, code) ? (code as ErrorKind) : 'config'
}

// Prisma's driver adapters keep the driver's SQLSTATE and message as `originalCode` and `originalMessage`. The
// server's HINT field is node-postgres's and postgres.js's `hint`.
function factsOf(error: object): ErrorFacts {
  const { name, code, message, hint, originalCode, originalMessage } = error as Record<string, unknown>
  return {
    name: stringOr(name),
    code: stringOr(code, originalCode),
    message: stringOr(message, originalMessage),
    hint: stringOr(hint),
  }
}

function stringOr(...values: unknown[]): string {
  return values.find((value): value is string => typeof value === 'string' && value !== '') ?? ''
}
