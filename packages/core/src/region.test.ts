import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRegionResolver, inferRegion } from './region'
import { rdsTarget } from './targets/rds-target'

const customHost = 'db.example.com'

// A resolver for a host name that carries no region, so the environment and the profile decide.
const customResolver = (profile?: string) =>
  createRegionResolver({ target: rdsTarget, region: undefined, tokenHost: customHost, profile })

describe('inferRegion', () => {
  it.each([
    ['mydb.abc123xyz.us-east-1.rds.amazonaws.com', 'us-east-1'],
    ['mydb.abc123xyz.eu-west-1.rds.amazonaws.com', 'eu-west-1'],
    ['my-db-1.c9akciq32.ap-southeast-2.rds.amazonaws.com', 'ap-southeast-2'],
    ['mydb.abc123xyz.il-central-1.rds.amazonaws.com', 'il-central-1'],
    ['mydb.abc123xyz.ca-west-1.rds.amazonaws.com', 'ca-west-1'],
    ['aurora.cluster-abc123xyz.us-west-2.rds.amazonaws.com', 'us-west-2'],
    ['aurora.cluster-ro-abc123xyz.eu-central-1.rds.amazonaws.com', 'eu-central-1'],
    ['reports.cluster-custom-abc123xyz.sa-east-1.rds.amazonaws.com', 'sa-east-1'],
    ['myproxy.proxy-abc123xyz.us-east-2.rds.amazonaws.com', 'us-east-2'],
    ['readers.endpoint.proxy-abc123xyz.ap-northeast-1.rds.amazonaws.com', 'ap-northeast-1'],
    ['limitless.shardgrp-abc123xyz.us-east-1.rds.amazonaws.com', 'us-east-1'],
    ['mydb.abc123xyz.rds.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['aurora.cluster-abc123xyz.rds.cn-northwest-1.amazonaws.com.cn', 'cn-northwest-1'],
    ['myproxy.proxy-abc123xyz.rds.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['mydb.abc123xyz.cn-north-1.rds.amazonaws.com.cn', 'cn-north-1'],
    ['aurora.cluster-abc123xyz.cn-northwest-1.rds.amazonaws.com.cn', 'cn-northwest-1'],
    ['mydb.abc123xyz.us-gov-west-1.rds.amazonaws.com', 'us-gov-west-1'],
    ['aurora.cluster-abc123xyz.us-gov-east-1.rds.amazonaws.com', 'us-gov-east-1'],
    ['mydb.abc123xyz.us-gov-west-1.rds-fips.amazonaws.com', 'us-gov-west-1'],
    ['mydb.abc123xyz.rds-fips.us-east-1.amazonaws.com', 'us-east-1'],
    ['mydb.abc123xyz.us-east-1.rds.amazonaws.com.', 'us-east-1'],
    ['aurora.cluster-ro-abc123xyz.eu-west-3.rds.amazonaws.com.', 'eu-west-3'],
    ['MyDB.ABC123XYZ.US-EAST-1.RDS.AMAZONAWS.COM', 'us-east-1'],
    ['Aurora.Cluster-ABC.Eu-North-1.Rds.AmazonAws.Com.', 'eu-north-1'],
  ])('finds the region of %s', (host, region) => {
    expect(inferRegion(host)).toBe(region)
  })

  it.each([
    '10.0.1.23',
    '127.0.0.1',
    '::1',
    'fd00:ec2::23',
    '[::1]',
    'mydb.global-abc123xyz.global.rds.amazonaws.com',
    'db.example.com',
    'postgres.internal.corp',
    'localhost',
    'localhost.',
    '',
    'rds.us-east-1.amazonaws.com',
    'us-east-1.rds.amazonaws.com',
    'mydb.abc123xyz.us-east-1.rds.amazonaws.com.evil.example',
    'mydb.abc123xyz.us-east-1.s3.amazonaws.com',
  ])('finds no region in %j', (host) => {
    expect(inferRegion(host)).toBeUndefined()
  })
})

describe('createRegionResolver', () => {
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rds-iam-region-'))
    vi.stubEnv('AWS_REGION', '')
    vi.stubEnv('AWS_DEFAULT_REGION', '')
    vi.stubEnv('AWS_PROFILE', '')
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'))
  })

  afterEach(() => {
    vi.unstubAllEnvs()
    rmSync(dir, { recursive: true, force: true })
  })

  it('prefers the region option over the host name and the environment', async () => {
    vi.stubEnv('AWS_REGION', 'eu-west-1')
    const resolver = createRegionResolver({
      target: rdsTarget,
      region: 'ap-south-1',
      tokenHost: 'a.b.us-east-1.rds.amazonaws.com',
      profile: undefined,
    })
    expect(resolver.current).toBe('ap-south-1')
    await expect(resolver.resolve()).resolves.toBe('ap-south-1')
  })

  it('infers the region from the token host before the environment', () => {
    vi.stubEnv('AWS_REGION', 'eu-west-1')
    const resolver = createRegionResolver({
      target: rdsTarget,
      region: undefined,
      tokenHost: 'a.b.us-east-1.rds.amazonaws.com',
      profile: undefined,
    })
    expect(resolver.current).toBe('us-east-1')
  })

  it('falls back to AWS_REGION, then AWS_DEFAULT_REGION', () => {
    vi.stubEnv('AWS_DEFAULT_REGION', 'eu-west-2')
    const current = (): string | undefined => customResolver().current
    expect(current()).toBe('eu-west-2')
    vi.stubEnv('AWS_REGION', 'eu-west-1')
    expect(current()).toBe('eu-west-1')
  })

  it("reads the named profile's region from the config file only when asked", async () => {
    writeFileSync(
      join(dir, 'config'),
      '[default]\nregion = us-west-1\n\n[profile analytics]\nregion = eu-central-1\n',
    )
    const resolver = customResolver('analytics')
    expect(resolver.current).toBeUndefined()
    await expect(resolver.resolve()).resolves.toBe('eu-central-1')
    expect(resolver.current).toBe('eu-central-1')
  })

  it('uses AWS_PROFILE, then the default profile', async () => {
    writeFileSync(join(dir, 'config'), '[default]\nregion = us-west-1\n\n[profile ops]\nregion = ap-east-1\n')
    await expect(customResolver().resolve()).resolves.toBe('us-west-1')
    vi.stubEnv('AWS_PROFILE', 'ops')
    await expect(customResolver().resolve()).resolves.toBe('ap-east-1')
  })

  it('fails with region-missing naming every way to set the region, and reads the files again next time', async () => {
    writeFileSync(join(dir, 'config'), '[profile analytics]\noutput = json\n')
    const resolver = customResolver('analytics')
    const error = await resolver.resolve().catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'region-missing' })
    const text = `${(error as Error).message}`
    for (const way of [
      '`region`',
      'tokenHost',
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'profile "analytics"',
      '~/.aws/config',
    ]) {
      expect(text).toContain(way)
    }
    writeFileSync(join(dir, 'config'), '[profile analytics]\nregion = eu-central-1\n')
    await expect(resolver.resolve()).resolves.toBe('eu-central-1')
  })

  it('names a profile that exists in neither file, rather than a missing region', async () => {
    const resolver = customResolver('nonexistent')
    const error = await resolver.resolve().catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'credentials' })
    expect((error as Error).message).toContain('"nonexistent"')
  })
})
