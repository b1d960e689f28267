import {
  constantTimeEqual,
  MAX_TOKEN_BYTES,
  parsePresignedRequest,
  verifySignature,
} from './sigv4-verifier.js'

/** An access key pair the emulator accepts, as an IAM principal would have it. */
export interface EmulatorCredentials {
  accessKeyId: string
  secretAccessKey: string
  /** Temporary credentials carry one; a token signed with them must carry the same. */
  sessionToken?: string
  /** When temporary credentials stop working; tokens they signed stop working then too. */
  expiration?: Date
}

/** Why a token was refused. */
export type TokenRejectReason =
  | 'malformed'
  | 'host'
  | 'user-mismatch'
  | 'unknown-key'
  | 'region'
  | 'session-token'
  | 'signature'
  | 'expired'
  | 'session-expired'
  | 'action-mismatch'

/** What a kind of token is, as the server of one target checks it. */
export interface TokenRules {
  /** The signing name in the credential scope: `rds-db`, `dsql`. */
  service: string
  /** The `Action` the startup user needs: RDS takes `connect` from anyone, Aurora DSQL one action per role. */
  actionFor(user: string): string
  /** The actions that make a token of this kind at all; any other is malformed. */
  actions: readonly string[]
  /** Whether the token names its user in `DBUser`, which must then be the startup user (RDS). */
  signsUser: boolean
  /** Whether the signed host carries the port (`endpoint:port`, RDS) or not (Aurora DSQL). */
  hostWithPort: boolean
  /** The longest life the server gives a token, whatever its `X-Amz-Expires` asks for. */
  maxLifetimeSeconds: number
}

/** Everything a token is checked against. */
export interface TokenCheck {
  /** The kind of token the emulated server takes. */
  rules: TokenRules
  token: string
  /** The user the session becomes (the startup user's first 63 bytes); an RDS token's `DBUser` must equal it. */
  user: string
  /** `endpoint:port` (RDS) or `endpoint` (Aurora DSQL) the emulator serves as; the token must be signed for it. */
  host: string
  region: string
  credentials: readonly EmulatorCredentials[]
  /** The emulator's clock, epoch ms. */
  now: number
  /** The longest life a token gets, in seconds; RDS gives 900 at most. */
  maxLifetimeSeconds: number
  /** How far in the future `X-Amz-Date` may be, for a signer whose clock runs ahead. */
  clockSkewMs: number
}

/** The outcome of a check. `detail` explains a rejection for logs; it never contains the token. */
export type TokenVerdict =
  | { ok: true; accessKeyId: string; action: string }
  | { ok: false; reason: TokenRejectReason; detail: string; accessKeyId?: string }

/** The `rds-db:connect` token of RDS and Aurora, which RDS honours for 15 minutes at most. */
export const RDS_TOKEN_RULES: TokenRules = {
  service: 'rds-db',
  actionFor: () => 'connect',
  actions: ['connect'],
  signsUser: true,
  hostWithPort: true,
  maxLifetimeSeconds: 900,
}
// SigV4's limit for a presigned URL (seven days); signers refuse to sign for longer.
const SIGV4_MAX_EXPIRES_SECONDS = 604_800
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/
// What every official signer writes: a whole number of seconds in plain decimal, as String(seconds) gives it.
// Number() would also read ' 900', '+900', '0x384', '9e2' and '900.0' as 900.
const EXPIRES_SECONDS = /^[1-9][0-9]*$/

function parseAmzDate(value: string): number | undefined {
  const match = AMZ_DATE.exec(value)
  if (!match) return undefined
  const [, year, month, day, hours, minutes, seconds] = match.map(Number)
  return Date.UTC(year!, month! - 1, day!, hours!, minutes!, seconds!)
}

function reject(reason: TokenRejectReason, detail: string, accessKeyId?: string): TokenVerdict {
  return { ok: false, reason, detail, ...(accessKeyId === undefined ? {} : { accessKeyId }) }
}

/**
 * Checks a token the way the server of its kind does (RDS: a well-formed `rds-db` `connect` presigned URL for this
 * `host:port`, user and region; Aurora DSQL: a `dsql` one for the bare host with the action of the role), signed
 * by a known key (with its session token, when it has one), within its lifetime and the lifetime of the
 * credentials that signed it.
 */
export function validateToken(check: TokenCheck): TokenVerdict {
  const { rules } = check
  const request = parsePresignedRequest(check.token, rules.hostWithPort)
  if (!request) return reject('malformed', `not a presigned URL of at most ${MAX_TOKEN_BYTES} bytes`)
  const param = (name: string): string => request.params.get(name) ?? ''
  const [accessKeyId = '', scopeDate, region, service, terminator] = param('X-Amz-Credential').split('/')
  const signedAt = parseAmzDate(param('X-Amz-Date'))
  const expiresText = param('X-Amz-Expires')
  const expiresSeconds = EXPIRES_SECONDS.test(expiresText) ? Number(expiresText) : Number.NaN
  const checks: [string, boolean][] = [
    ['Action', rules.actions.includes(param('Action'))],
    ['DBUser', !rules.signsUser || request.params.has('DBUser')],
    ['X-Amz-Algorithm', param('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', service === rules.service && terminator === 'aws4_request' && region !== undefined],
    [
      'X-Amz-Date',
      signedAt !== undefined && /^\d{8}$/.test(scopeDate ?? '') && param('X-Amz-Date').startsWith(scopeDate!),
    ],
    ['X-Amz-Expires', expiresSeconds <= SIGV4_MAX_EXPIRES_SECONDS],
    ['X-Amz-SignedHeaders', param('X-Amz-SignedHeaders') === 'host'],
    ['X-Amz-Signature', /^[0-9a-f]{64}$/.test(param('X-Amz-Signature'))],
  ]
  const malformed = checks.find(([, valid]) => !valid)
  if (malformed) return reject('malformed', `missing or invalid ${malformed[0]}`)

  if (request.host.toLowerCase() !== check.host.toLowerCase()) {
    return reject('host', `signed for ${request.host}, expected ${check.host}`, accessKeyId)
  }
  if (rules.signsUser && param('DBUser') !== check.user) {
    return reject(
      'user-mismatch',
      `signed for user "${param('DBUser')}", startup user "${check.user}"`,
      accessKeyId,
    )
  }
  const action = param('Action')
  if (action !== rules.actionFor(check.user)) {
    const detail = `signed for ${action}, user "${check.user}" needs ${rules.actionFor(check.user)}`
    return reject('action-mismatch', detail, accessKeyId)
  }
  const key = check.credentials.find((candidate) => candidate.accessKeyId === accessKeyId)
  if (!key) return reject('unknown-key', `access key ${accessKeyId} is not accepted`, accessKeyId)
  if (region !== check.region)
    return reject('region', `signed for ${region}, expected ${check.region}`, accessKeyId)
  if (!constantTimeEqual(key.sessionToken ?? '', param('X-Amz-Security-Token'))) {
    return reject('session-token', 'X-Amz-Security-Token does not match the access key', accessKeyId)
  }
  if (!verifySignature(request, key.secretAccessKey)) {
    return reject('signature', 'signature does not match', accessKeyId)
  }

  // RDS documents a 15-minute life whatever X-Amz-Expires says, so a longer one is accepted but not honoured.
  const lifetimeSeconds = Math.min(expiresSeconds, rules.maxLifetimeSeconds, check.maxLifetimeSeconds)
  const expiresAt = signedAt! + lifetimeSeconds * 1000
  // A token dated ahead (a signer whose clock runs fast) is accepted within the skew; its life still counts from
  // its X-Amz-Date.
  if (signedAt! - check.clockSkewMs > check.now) {
    return reject('expired', `signed at ${new Date(signedAt!).toISOString()}, in the future`, accessKeyId)
  }
  if (check.now > expiresAt) {
    return reject('expired', `expired at ${new Date(expiresAt).toISOString()}`, accessKeyId)
  }
  if (key.expiration && check.now >= key.expiration.getTime()) {
    const at = key.expiration.toISOString()
    return reject('session-expired', `the signing credentials expired at ${at}`, accessKeyId)
  }
  return { ok: true, accessKeyId, action }
}
