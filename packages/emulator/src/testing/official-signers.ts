import { execFile } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { promisify } from 'node:util'
import type { EmulatorCredentials } from '../token-validator.js'

const run = promisify(execFile)

/** What every signer is asked to sign: the endpoint exactly as a user would type it. */
export interface TokenRequest {
  hostname: string
  port: number
  region: string
  user: string
  credentials: EmulatorCredentials
}

function credentialEnvironment(credentials: EmulatorCredentials): NodeJS.ProcessEnv {
  const { AWS_PROFILE: _, AWS_SESSION_TOKEN: __, ...inherited } = process.env
  return {
    ...inherited,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: credentials.sessionToken }),
  }
}

async function runSigner(program: string, args: string[], request: TokenRequest, install: string) {
  try {
    const { stdout } = await run(program, args, { env: credentialEnvironment(request.credentials) })
    return stdout.trim()
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr?: string }
    const reason = code === 'ENOENT' ? `${program} is not installed` : stderr?.trim() || String(error)
    throw new Error(`${program} could not make a token (${reason}); install it with: ${install}`)
  }
}

// botocore reads the credentials from the environment, as boto3 applications do.
const BOTOCORE_SCRIPT = `
import sys, botocore.session
hostname, port, user, region = sys.argv[1:5]
client = botocore.session.get_session().create_client('rds', region_name=region)
print(client.generate_db_auth_token(hostname, int(port), user))
`

/** A token from botocore (what boto3 uses): `client('rds').generate_db_auth_token(...)`. */
export function signWithBotocore(request: TokenRequest): Promise<string> {
  const { hostname, port, user, region } = request
  const args = ['-c', BOTOCORE_SCRIPT, hostname, String(port), user, region]
  return runSigner('python3', args, request, 'apt-get install python3-botocore')
}

/** A token from the AWS CLI: `aws rds generate-db-auth-token`. */
export function signWithAwsCli(request: TokenRequest): Promise<string> {
  const args = [
    ...['rds', 'generate-db-auth-token', '--hostname', request.hostname, '--port', String(request.port)],
    ...['--username', request.user, '--region', request.region],
  ]
  return runSigner('aws', args, request, 'apt-get install awscli')
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
const hmacSha256 = (key: string | Buffer, text: string): Buffer =>
  createHmac('sha256', key).update(text).digest()
// Go's url.QueryEscape, with the space as %20 as the Go SigV4 signer writes it.
const escapeGo = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** What the Go SDK lets a caller choose beyond the endpoint: `BuildAuthTokenOptions.ExpiresIn`, and the clock. */
export interface GoSigningOptions {
  signedAt?: Date
  /** A string is written as it is, so a test can sign forms no signer writes (`0x384`, `9e2`). */
  expiresInSeconds?: number | string
}

/**
 * A token shaped as the Go SDK v2 (`feature/rds/auth.BuildAuthToken`) makes it: `host:port?query` with no `/`
 * before the `?`, the host signed as written, parameters sorted by name and the signature last. Written out here
 * because no Go toolchain is on the machines; it is a second, independent SigV4 implementation.
 */
export function signGoStyle(request: TokenRequest, options: GoSigningOptions = {}): string {
  const now = options.signedAt ?? new Date()
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '')
  const day = amzDate.slice(0, 8)
  const scope = `${day}/${request.region}/rds-db/aws4_request`
  const { accessKeyId, secretAccessKey, sessionToken } = request.credentials
  const params: Record<string, string> = {
    Action: 'connect',
    DBUser: request.user,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(options.expiresInSeconds ?? 900),
    'X-Amz-SignedHeaders': 'host',
    ...(sessionToken === undefined ? {} : { 'X-Amz-Security-Token': sessionToken }),
  }
  const query = Object.keys(params)
    .sort()
    .map((name) => `${escapeGo(name)}=${escapeGo(params[name]!)}`)
    .join('&')
  const host = `${request.hostname}:${request.port}`
  const canonical = `GET\n/\n${query}\nhost:${host}\n\nhost\n${sha256('')}`
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`
  const signingKey = ['rds-db', 'aws4_request'].reduce(
    (key, part) => hmacSha256(key, part),
    hmacSha256(hmacSha256(`AWS4${secretAccessKey}`, day), request.region),
  )
  return `${host}?${query}&X-Amz-Signature=${hmacSha256(signingKey, stringToSign).toString('hex')}`
}
