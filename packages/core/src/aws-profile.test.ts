import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { chosenProfile, unknownProfileError } from './aws-profile'
import { createIamAuth } from './create-iam-auth'

const files = { configFile: { dev: {}, shared: {} }, credentialsFile: { ci: {} } }

describe('chosenProfile', () => {
  it('says where the profile was chosen, and that none was when the SDK would fall back to default', () => {
    expect(chosenProfile('dev', { AWS_PROFILE: 'ci' })).toEqual({ name: 'dev', from: 'the `profile` option' })
    expect(chosenProfile(undefined, { AWS_PROFILE: 'ci' })).toEqual({ name: 'ci', from: 'AWS_PROFILE' })
    expect(chosenProfile(undefined, { AWS_PROFILE: '' })).toBeUndefined()
    expect(chosenProfile(undefined, {})).toBeUndefined()
  })
})

describe('unknownProfileError', () => {
  it('is undefined for a profile in either file, or when none was chosen', () => {
    expect(unknownProfileError('dev', files, {})).toBeUndefined()
    expect(unknownProfileError(undefined, files, { AWS_PROFILE: 'ci' })).toBeUndefined()
    expect(unknownProfileError(undefined, files, {})).toBeUndefined()
  })

  it('names the profile, where it was chosen and the files it is missing from', () => {
    const error = unknownProfileError(undefined, files, {
      AWS_PROFILE: 'prd',
      AWS_CONFIG_FILE: '/etc/aws/config',
    })
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    expect(error?.message).toMatch(
      /^AWS profile "prd" \(from AWS_PROFILE\) is in neither \/etc\/aws\/config nor ~\/\.aws\/credentials\./,
    )
    expect(error?.hint).toContain('[profile prd]')
  })

  it('does not take a name inherited from Object.prototype for a profile', () => {
    expect(unknownProfileError('constructor', files, {})).toMatchObject({ code: 'credentials' })
  })
})

describe('an unknown AWS_PROFILE through createIamAuth', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rds-iam-profile-'))
    writeFileSync(join(dir, 'config'), '[profile dev]\nregion = eu-west-1\n')
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'))
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      vi.stubEnv(name, undefined)
    }
    vi.stubEnv('AWS_PROFILE', 'dve')
  })

  afterEach(() => {
    vi.unstubAllEnvs()
    rmSync(dir, { recursive: true, force: true })
  })

  it.each([
    ['a host that names no region', 'db.internal.example.com'],
    ['an RDS endpoint', 'mydb.cluster-abc123.eu-west-1.rds.amazonaws.com'],
  ])('is named as such for %s, never as region-missing or "no credentials"', async (_name, host) => {
    const error = await createIamAuth({ host, user: 'app' })
      .getToken()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    expect((error as Error).message).toContain('AWS profile "dve" (from AWS_PROFILE) is in neither')
  })
})
