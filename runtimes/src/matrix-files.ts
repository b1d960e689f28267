import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The test files every Node of the matrix runs, relative to the repository root, chosen by pattern so that files
 * added later join without an edit: each adapter's conformance run (a `tests/*.test.ts` that calls
 * describeConformance), the reliability suite's default run, the CLI's end-to-end tests (clean-stderr.test.ts
 * among them), and the examples, which also check that nothing reaches stderr.
 */
export function matrixFiles(root: string): string[] {
  const conformance = testFiles(root, 'tests', false).filter((file) =>
    readFileSync(join(root, file), 'utf8').includes('describeConformance('),
  )
  return [
    ...conformance,
    ...testFiles(root, 'tests/reliability', true),
    ...testFiles(root, 'packages/cli/src', true),
    'tests/examples.test.ts',
  ]
}

function testFiles(root: string, dir: string, recursive: boolean): string[] {
  return readdirSync(join(root, dir), { recursive })
    .map(String)
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `${dir}/${name}`)
    .sort()
}
