// Runs the matrix files (matrix-files.ts) on each pinned Node, one after another, each writing its own vitest JSON
// report next to the main run's, so that .ci/run's closing line counts every run. Exits non-zero if any run
// fails or writes no report.
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeRuntimes } from './locate'
import { matrixFiles } from './matrix-files'

const root = fileURLToPath(new URL('../../', import.meta.url))
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

let failed = false
for (const runtime of nodeRuntimes()) {
  const report = join(root, 'test-results', `vitest-${runtime.name.replace(' ', '-')}.json`)
  rmSync(report, { force: true })
  console.log(`\n${runtime.name} (v${runtime.version}): ${files.length} test files`)
  const run = spawnSync(runtime.command, [vitest, 'run', '--project', 'integration', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      PATH: [dirname(runtime.command), ...inheritedPath].join(delimiter),
      RDS_IAM_VITEST_REPORT: report,
    },
  })
  if (run.status !== 0 || !existsSync(report)) {
    console.error(
      `${runtime.name} (v${runtime.version}): the matrix run failed (exit ${run.status ?? run.signal})`,
    )
    failed = true
  }
}
process.exit(failed ? 1 : 0)
