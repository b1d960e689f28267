// Runs the matrix files (matrix-files.ts) on each pinned Node, each run writing its own vitest JSON report next to
// the main run's, so that .ci/run's closing line counts every run. Exits non-zero if any run fails or writes no
// report.
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeRuntimes, type Runtime } from './locate'
import { matrixFiles } from './matrix-files'

const root = fileURLToPath(new URL('../../', import.meta.url))
const resultsDir = join(root, 'test-results')
const vitest = join(
  dirname(createRequire(join(root, 'package.json')).resolve('vitest/package.json')),
  'vitest.mjs',
)
const files = matrixFiles(root)

// pnpm puts this package's bin folder, where each pinned Node links a `node`, first on PATH; a test's child
// processes must find the Node under test instead.
const inheritedPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((entry) => !entry.endsWith(`${sep}runtimes${sep}node_modules${sep}.bin`))

// The runs go one after the other. Side by side they took 7.3 minutes where one after the other took 13.4 on a busy
// machine of two cores, but two vitest runs at once starve the suites that time recovery (R3's health checks after
// faults failed on either Node that way), and a CI that fails by load is worth less than six minutes. Each run
// prints its output in one piece when it ends.
async function runOn(runtime: Runtime): Promise<boolean> {
  const label = `${runtime.name} (v${runtime.version})`
  const base = join(resultsDir, `vitest-${runtime.name.replace(' ', '-')}`)
  const report = `${base}.json`
  rmSync(report, { force: true })
  const log = createWriteStream(`${base}.log`)
  const child = spawn(runtime.command, [vitest, 'run', '--project', 'integration', ...files], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: [dirname(runtime.command), ...inheritedPath].join(delimiter),
      RDS_IAM_VITEST_REPORT: report,
    },
  })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  await new Promise((resolve) => log.end(resolve))
  console.log(`\n${label}: ${files.length} test files\n`)
  console.log(readFileSync(`${base}.log`, 'utf8'))
  const passed = code === 0 && existsSync(report)
  if (!passed) console.error(`${label}: the matrix run failed (exit ${code})`)
  return passed
}

mkdirSync(resultsDir, { recursive: true })
const started = performance.now()
const results: boolean[] = []
for (const runtime of nodeRuntimes()) results.push(await runOn(runtime))
console.log(`runtime matrix: ${Math.round((performance.now() - started) / 1000)} s`)
process.exit(results.every(Boolean) ? 0 : 1)
