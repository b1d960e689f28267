import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { build, type Format } from 'esbuild'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { requireFreshBuild } from './bundles/built-packages'
import { bundleHandler } from './bundles/bundle-handler'

const run = promisify(execFile)
const handlersDir = fileURLToPath(new URL('./bundles/', import.meta.url))
const user = 'bundled_otel_handler'

// Bundled as Lambda tooling bundles a handler, into an empty folder with no node_modules above it.
describe('a handler with the OpenTelemetry SDK, bundled with esbuild', () => {
  let emulator: Emulator
  let workDir: string

  beforeAll(async () => {
    await requireFreshBuild(['core', 'pg'])
    emulator = await startEmulator({ upstream: inject('postgres') })
    await emulator.createIamUser(user)
    workDir = await mkdtemp(join(tmpdir(), 'rds-iam-bundle-otel-'))
  })
  afterAll(async () => {
    await emulator?.close()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  async function bundleAndRun(handler: string, format: Format, external: string[]): Promise<unknown> {
    const outfile = await bundleHandler(join(handlersDir, handler), format, workDir, external)
    const settings = {
      host: emulator.host,
      port: emulator.port,
      user,
      database: 'postgres',
      tokenHost: emulator.endpoint,
      ca: emulator.ca,
    }
    const { stdout } = await run(process.execPath, [outfile], {
      cwd: workDir,
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        HOME: workDir,
        AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
        HANDLER_SETTINGS: JSON.stringify(settings),
      },
    })
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '')
  }

  it.each(['esm', 'cjs'] as const)(
    '%s: esbuild follows core’s import of the API, so the token and sign-in spans are recorded',
    async (format) => {
      const outcome = await bundleAndRun('otel-handler.ts', format, [])
      expect(outcome).toEqual({ rows: [{ one: 1 }], spans: ['rds_iam.token', 'rds_iam.sign_in'] })
    },
  )

  // Code that requires the adapter gets core's CommonJS build, whose require of the API sits in a try block; where
  // the API is not installed, esbuild must still bundle it (it refuses an unresolvable require anywhere else).
  it('cjs: a handler that requires the adapter bundles where the API cannot be resolved', async () => {
    const result = await build({
      stdin: {
        contents: "const { createPool } = require('@rds-iam/pg'); module.exports = createPool",
        resolveDir: handlersDir,
        loader: 'js',
      },
      write: false,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'silent',
      plugins: [
        {
          name: 'no-opentelemetry',
          setup(bundle) {
            bundle.onResolve({ filter: /^@opentelemetry\/api$/ }, () => ({
              errors: [{ text: 'Could not resolve "@opentelemetry/api"' }],
            }))
          },
        },
      ],
    })
    expect(result.errors).toEqual([])
    expect(result.outputFiles[0]?.text).toContain('@opentelemetry/api')
  })

  // A handler without OpenTelemetry, the API left out of the bundle and not installed beside it, as in an
  // application that does not use it: core's import fails once, quietly, and the handler connects.
  it.each(['esm', 'cjs'] as const)('%s: without the API at run time, a handler connects', async (format) => {
    const outcome = await bundleAndRun('pg-pool-handler.ts', format, ['@opentelemetry/api'])
    expect(outcome).toEqual({ rows: [{ one: 1 }], tokensGenerated: 1, retries: 0 })
  })
})
