// Runs every src/*.bench.ts as its own process, one after another, so no benchmark inherits another's loaded
// modules, warmed caches or heap. Arguments pick benchmarks by part of their file name: `pnpm bench connect`.
// A benchmark that misses its target still exits 0 (benchmarks are not tests); one that crashes fails the run.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'

const srcDir = fileURLToPath(new URL('.', import.meta.url))
const wanted = process.argv.slice(2)
const benchmarks = readdirSync(srcDir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.some((part) => file.includes(part)))
  .sort()

// Every benchmark prints its verdicts as lines ending in PASS or MISS; they are repeated at the end as a summary.
const verdictLine = /\b(PASS|MISS)\s*$/
const verdicts: string[] = []
const crashed: string[] = []

function runBenchmark(file: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${srcDir}${file}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout.setEncoding('utf8')
    let pending = ''
    child.stdout.on('data', (chunk: string) => {
      process.stdout.write(chunk)
      const lines = (pending + chunk).split('\n')
      pending = lines.pop() ?? ''
      verdicts.push(...lines.filter((line) => verdictLine.test(line)))
    })
    child.on('error', reject)
    child.on('close', resolve)
  })
}

console.log(
  `# rds-iam benchmarks, ${new Date().toISOString()}, ${availableParallelism()} cores, node ${process.version}`,
)
for (const file of benchmarks) {
  console.log(`\n## ${file}`)
  const status = await runBenchmark(file)
  if (status !== 0) crashed.push(file)
}

console.log(`\n## summary\n${verdicts.join('\n')}`)
if (crashed.length > 0) {
  console.error(`crashed: ${crashed.join(', ')}`)
  process.exitCode = 1
}
