import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { requireFreshBuild } from './bundles/built-packages'

const run = promisify(execFile)
const testsDir = fileURLToPath(new URL('.', import.meta.url))

// An application can load core both ways at once: its own code imports the ESM build while a CommonJS dependency
// (a Knex or TypeORM plugin, say) requires the CJS build. Both must draw from one token cache, or each copy signs
// its own tokens and a token one copy saw rejected lives on in the other.
const loadCoreBothWays = `
import { createRequire } from 'node:module'
const esm = await import('@rds-iam/core')
const cjs = createRequire(process.cwd() + '/')('@rds-iam/core')
let tokensGenerated = 0
const options = {
  host: 'dual.cluster-abc123def456.us-east-1.rds.amazonaws.com',
  user: 'dual_user',
  credentials: { accessKeyId: 'AKIADUALPACKAGE00000', secretAccessKey: 'dual-package-secret-not-real-000000000' },
  onEvent: (event) => { if (event.type === 'token-generated') tokensGenerated++ },
}
const fromEsm = esm.createIamAuth(options)
const fromCjs = cjs.createIamAuth(options)
await fromEsm.getToken()
await fromCjs.getToken()
const signedForBoth = tokensGenerated
fromCjs.invalidate()
await fromEsm.getToken()
console.log(JSON.stringify({
  twoCopiesLoaded: esm.createIamAuth !== cjs.createIamAuth,
  signedForBoth,
  signedAfterInvalidation: tokensGenerated - signedForBoth,
}))
`

describe('core loaded as ESM and as CJS in one process', () => {
  beforeAll(() => requireFreshBuild(['core']))

  it('shares one token cache: one signature for both, and an invalidation seen by both', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', loadCoreBothWays], {
      cwd: testsDir,
      timeout: 30_000,
      env: { PATH: process.env.PATH, HOME: testsDir },
    })
    expect(JSON.parse(stdout)).toEqual({
      twoCopiesLoaded: true,
      signedForBoth: 1,
      signedAfterInvalidation: 1,
    })
  })
})
