import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FAKE_IDENTITY, RDS_HOST } from '../test-helpers'

// On the built output, CommonJS and ES module, as a user's process loads it: vitest's own loading would hide
// which form of loading the build really contains. `pnpm test` builds before it tests.
const builds = {
  cjs: fileURLToPath(new URL('../../dist/index.cjs', import.meta.url)),
  esm: fileURLToPath(new URL('../../dist/index.js', import.meta.url)),
}
const coreDir = fileURLToPath(new URL('../..', import.meta.url))

// PROBE_SDK=1 registers a tracer provider before the first token; the probe prints what was exported.
const probe = (entry: string): string => `
const { createRequire } = require('node:module')
const coreRequire = createRequire(${JSON.stringify(`${coreDir}/package.json`)})
let spans
if (process.env.PROBE_SDK) {
  const { trace } = coreRequire('@opentelemetry/api')
  const sdk = coreRequire('@opentelemetry/sdk-trace-base')
  spans = new sdk.InMemorySpanExporter()
  trace.setGlobalTracerProvider(new sdk.BasicTracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor(spans)] }))
}
import(${JSON.stringify(entry)}).then(async (core) => {
  const auth = (core.createIamAuth ?? core.default.createIamAuth)(JSON.parse(process.env.PROBE_OPTIONS))
  const token = await auth.getToken()
  await auth.getToken()
  const loaded = Object.keys(require.cache).filter((path) => path.includes('@opentelemetry')).length
  console.log(JSON.stringify({
    token: token.length > 0,
    spans: spans ? spans.getFinishedSpans().map((span) => span.attributes['rds_iam.token.source']) : null,
    apiInCjsCache: loaded > 0,
  }))
})
`

// Makes '@opentelemetry/api' unresolvable for require and import alike, as where it is not installed.
const absent = `
const Module = require('node:module')
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (request === '@opentelemetry/api') throw Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' })
  return resolve.call(this, request, ...rest)
}
Module.register('data:text/javascript,' + encodeURIComponent(\`export async function resolve(specifier, context, next) {
  if (specifier === '@opentelemetry/api') throw Object.assign(new Error('not found'), { code: 'ERR_MODULE_NOT_FOUND' })
  return next(specifier, context)
}\`))
`

interface ProbeResult {
  token: boolean
  spans: string[] | null
  apiInCjsCache: boolean
}

function runProbe(entry: string, env: NodeJS.ProcessEnv, preload?: string): ProbeResult {
  expect(existsSync(entry), `${entry} is missing: run pnpm build`).toBe(true)
  const options = { host: RDS_HOST, user: 'app', region: 'us-east-1', credentials: FAKE_IDENTITY }
  const script = preload ? `${preload}\n${probe(entry)}` : probe(entry)
  const output = execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PROBE_OPTIONS: JSON.stringify(options), ...env },
  })
  return JSON.parse(output.trim().split('\n').at(-1) ?? '')
}

describe.each(Object.entries(builds))('the %s build', (_format, entry) => {
  it('loads @opentelemetry/api and records with a registered SDK', () => {
    const result = runProbe(entry, { PROBE_SDK: '1' })
    expect(result).toMatchObject({ token: true, spans: ['signed', 'cache'], apiInCjsCache: true })
  })

  it('works without @opentelemetry/api, and never loads it', () => {
    // apiInCjsCache is false only because nothing loaded it: with the SDK (above) the probe sees it there.
    const result = runProbe(entry, {}, absent)
    expect(result).toEqual({ token: true, spans: null, apiInCjsCache: false })
  })
})
