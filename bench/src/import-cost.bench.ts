// What importing core costs a process, side by side with a bare node start: the SDK loads on the first token,
// so services that import core but connect later pay little at startup.
import { execFileSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'

const coreEntry = import.meta.resolve('@rds-iam/core')
const runs = 15
const importCore = `const core = await import(${JSON.stringify(coreEntry)})`
const firstToken = `${importCore}
await core.createIamAuth({
  host: 'bench.cluster-abc123def456.us-east-1.rds.amazonaws.com',
  user: 'bench_user',
  credentials: { accessKeyId: 'AKIABENCHMARK0000000', secretAccessKey: 'bench-secret-key-not-real-0000000000000' },
}).getToken()`

// Wall time of a whole process, median of several, so module loading is measured as a service feels it.
function processMs(code: string): number {
  const times = Array.from({ length: runs }, () => {
    const started = performance.now()
    execFileSync(process.execPath, ['--input-type=module', '-e', code])
    return performance.now() - started
  })
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] ?? Number.NaN
}

const bare = processMs('')
const imported = processMs(importCore)
const withToken = processMs(firstToken)
console.log(`process start, median of ${runs} runs`)
console.log(`  bare node                          ${bare.toFixed(0).padStart(5)} ms`)
console.log(
  `  + import @rds-iam/core             ${imported.toFixed(0).padStart(5)} ms (+${(imported - bare).toFixed(0)} ms)`,
)
console.log(
  `  + import and sign the first token  ${withToken.toFixed(0).padStart(5)} ms (+${(withToken - bare).toFixed(0)} ms)`,
)
console.log(
  `ratio: importing core adds ${((imported / bare - 1) * 100).toFixed(0)}% to a bare start; the first token adds ${((withToken / bare - 1) * 100).toFixed(0)}%`,
)
