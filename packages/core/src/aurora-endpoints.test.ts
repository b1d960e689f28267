import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Signer } from '@aws-sdk/rds-signer'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createIamAuth } from './create-iam-auth'
import { FAKE_IDENTITY } from './test-helpers'
import { resetTokenCacheForTesting } from './token-cache'

// Every endpoint kind a user dials: the region core infers from the name, and a token signed for that name, byte
// for byte what @aws-sdk/rds-signer makes for the same name and region.
const endpoints: [kind: string, host: string, region: string][] = [
  ['instance', 'orders.c9akciq32.eu-west-1.rds.amazonaws.com', 'eu-west-1'],
  ['cluster writer', 'orders.cluster-c9akciq32.eu-west-1.rds.amazonaws.com', 'eu-west-1'],
  ['cluster reader', 'orders.cluster-ro-c9akciq32.ap-southeast-2.rds.amazonaws.com', 'ap-southeast-2'],
  ['custom endpoint', 'reports.cluster-custom-c9akciq32.us-west-2.rds.amazonaws.com', 'us-west-2'],
  ['proxy default endpoint', 'orders.proxy-c9akciq32.eu-central-1.rds.amazonaws.com', 'eu-central-1'],
  ['proxy reader endpoint', 'readers.endpoint.proxy-c9akciq32.us-east-2.rds.amazonaws.com', 'us-east-2'],
  ['China cluster reader', 'orders.cluster-ro-c9akciq32.rds.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
]
const GLOBAL_WRITER = 'orders.global-c9akciq32.global.rds.amazonaws.com'
let dir: string

beforeEach(() => {
  resetTokenCacheForTesting()
  vi.stubEnv('AWS_REGION', '')
  vi.stubEnv('AWS_DEFAULT_REGION', '')
  // Shared files that exist and name no region, so only the endpoint name or the option can give one.
  dir = mkdtempSync(join(tmpdir(), 'rds-iam-endpoints-'))
  writeFileSync(join(dir, 'config'), '[default]\noutput = json\n')
  vi.stubEnv('AWS_PROFILE', '')
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'))
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'))
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.UTC(2026, 5, 1, 12))
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllEnvs()
  rmSync(dir, { recursive: true, force: true })
})

async function officialToken(hostname: string, region: string): Promise<string> {
  return new Signer({
    hostname,
    port: 5432,
    username: 'app',
    region,
    credentials: FAKE_IDENTITY,
  }).getAuthToken()
}

describe('Aurora and RDS Proxy endpoint kinds', () => {
  it.each(endpoints)('%s: region and token host come from the name', async (_kind, host, region) => {
    const auth = createIamAuth({ host, user: 'app', credentials: FAKE_IDENTITY })
    expect(auth.region).toBe(region)
    expect(auth.tokenHost).toBe(host)
    const token = await auth.getToken()
    expect(token.startsWith(`${host}:5432/?`)).toBe(true)
    expect(token).toBe(await officialToken(host, region))
  })

  it('a global writer endpoint signs for its own name in the region it is given', async () => {
    const auth = createIamAuth({
      host: GLOBAL_WRITER,
      user: 'app',
      region: 'eu-west-1',
      credentials: FAKE_IDENTITY,
    })
    expect(auth.tokenHost).toBe(GLOBAL_WRITER)
    expect(await auth.getToken()).toBe(await officialToken(GLOBAL_WRITER, 'eu-west-1'))
  })

  it('a global writer endpoint without a region fails with region-missing that says why', async () => {
    const auth = createIamAuth({ host: GLOBAL_WRITER, user: 'app', credentials: FAKE_IDENTITY })
    expect(auth.region).toBeUndefined()
    const error = await auth.getToken().then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'region-missing' })
    const { message, hint } = error as { message: string; hint: string }
    expect(message).toContain(`${GLOBAL_WRITER} is an Aurora global database writer endpoint`)
    expect(hint).toContain("region of the global database's primary cluster")
  })
})
