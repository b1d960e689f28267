import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { credentialWaitError } from './credential-wait'
import { createCredentialSource } from './credentials'
import { deferred, FAKE_IDENTITY } from './test-helpers'
import type { AwsCredentialIdentity } from './types'

const TIMEOUT_MS = 60

// A provider whose every call waits for the test to answer it.
function heldProvider() {
  const calls: ReturnType<typeof deferred<AwsCredentialIdentity>>[] = []
  const provider = () => {
    const call = deferred<AwsCredentialIdentity>()
    calls.push(call)
    return call.promise
  }
  return { provider, calls }
}

function sourceWith(provider: () => Promise<AwsCredentialIdentity>) {
  return createCredentialSource({
    credentials: provider,
    profile: undefined,
    clock: Date,
    minRemainingMs: 60_000,
    timeoutMs: TIMEOUT_MS,
  })
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

describe('credentials from a provider that never answers', () => {
  it('fail after timeoutMs with a credentials error that names the provider and the option', async () => {
    const source = sourceWith(() => new Promise(() => {}))
    const started = performance.now()
    const error = await failureOf(source.resolve())
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 5)
    expect(error).toMatchObject({
      code: 'credentials',
      message: expect.stringContaining(
        'No AWS credentials from the `credentials` provider (iam.credentials) within 60 ms (iam.credentialsTimeoutMs).',
      ),
      hint: expect.stringContaining('raise iam.credentialsTimeoutMs'),
    })
  })

  it('fail every caller of one request together, and the next request asks the provider again', async () => {
    const { provider, calls } = heldProvider()
    const source = sourceWith(provider)
    const errors = await Promise.all(Array.from({ length: 5 }, () => failureOf(source.resolve())))
    expect(errors.every((error) => (error as { code?: string }).code === 'credentials')).toBe(true)
    expect(calls).toHaveLength(1)
    // Past the backoff, a new request: the hung one is not joined for ever.
    await sleep(250)
    const next = source.resolve()
    await sleep(0)
    expect(calls).toHaveLength(2)
    calls[1]?.resolve(FAKE_IDENTITY)
    expect(await next).toBe(FAKE_IDENTITY)
  })

  it('keep an answer that comes after its callers gave up, for the next caller, without asking again', async () => {
    const { provider, calls } = heldProvider()
    const source = sourceWith(provider)
    expect(await failureOf(source.resolve())).toMatchObject({ code: 'credentials' })
    calls[0]?.resolve(FAKE_IDENTITY)
    await sleep(0)
    expect(await source.resolve()).toBe(FAKE_IDENTITY)
    expect(calls).toHaveLength(1)
  })

  it('bound a caller by its own shorter wait, which the request outlives', async () => {
    const { provider, calls } = heldProvider()
    const source = sourceWith(provider)
    const error = await failureOf(source.resolve(10))
    expect(error).toMatchObject({
      code: 'credentials',
      message: expect.stringContaining('within the connect timeout of 10 ms'),
    })
    const patient = source.resolve()
    calls[0]?.resolve(FAKE_IDENTITY)
    expect(await patient).toBe(FAKE_IDENTITY)
    expect(calls).toHaveLength(1)
  })
})

describe('credentialWaitError names the source of the default chain that did not answer', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rds-iam-wait-'))
    writeFileSync(join(dir, 'credentials'), '')
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'))
    for (const name of ['AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']) vi.stubEnv(name, '')
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', '')
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '')
  })
  afterEach(() => {
    vi.unstubAllEnvs()
    rmSync(dir, { recursive: true, force: true })
  })

  const named = async (profile: string | undefined) =>
    (
      await credentialWaitError(
        { credentials: undefined, profile, timeoutMs: 5_000 },
        { kind: 'bound', waitedMs: 5_000 },
      )
    ).message

  it.each([
    [
      'credential_process = /usr/local/bin/vault-creds',
      'the credential_process of profile "p" (from the `profile` option)',
    ],
    ['sso_session = corp\nsso_account_id = 1', 'AWS IAM Identity Center (SSO) for profile "p"'],
    ['role_arn = arn:aws:iam::1:role/r\nsource_profile = base', 'AWS STS (the role_arn of profile "p"'],
    [
      'role_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata',
      'the EC2 instance metadata service',
    ],
  ])('a profile with %s', async (settings, name) => {
    writeFileSync(join(dir, 'config'), `[profile p]\n${settings}\n`)
    expect(await named('p')).toContain(`No AWS credentials from ${name}`)
  })

  it('the container endpoint, STS for a web identity, else the instance metadata service', async () => {
    writeFileSync(join(dir, 'config'), '')
    expect(await named(undefined)).toContain('the EC2 instance metadata service (IMDS)')
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '/v2/credentials/x')
    expect(await named(undefined)).toContain('the container credentials endpoint')
    vi.stubEnv('AWS_WEB_IDENTITY_TOKEN_FILE', join(dir, 'token'))
    vi.stubEnv('AWS_ROLE_ARN', 'arn:aws:iam::1:role/r')
    expect(await named(undefined)).toContain('AWS STS (AssumeRoleWithWebIdentity')
  })
})
