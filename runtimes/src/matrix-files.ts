import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The test files every Node of the matrix runs, relative to the repository root, chosen by pattern so that files
 * added later join without an edit: each adapter's conformance runs for every target (a `tests/*.test.ts` that
 * calls describeConformance or a target's own kit such as describeProxyConformance), the reliability suite's
 * default run, the CLI's end-to-end tests (clean-stderr.test.ts among them), the OpenTelemetry tests through every
 * adapter, and the examples, which also check that nothing reaches stderr.
 */
// A call of the shared conformance kit or of a target's own.
const CONFORMANCE_KIT = /\bdescribe\w*Conformance\(/

export function matrixFiles(root: string): string[] {
  const conformance = testFiles(root, 'tests', false).filter((file) =>
    CONFORMANCE_KIT.test(readFileSync(join(root, file), 'utf8')),
  )
  return [
    ...conformance,
    ...testFiles(root, 'tests/reliability', true),
    ...testFiles(root, 'packages/cli/src', true),
    'tests/telemetry.test.ts',
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
