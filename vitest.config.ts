import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url))

// Tests run against each package's source, so a change is tested without a rebuild; the built output is
// checked by `check:package` (publint, attw) and run by the examples.
const sourceAliases = [
  { find: /^@rds-iam\/core\/adapter$/, replacement: `${packagesDir}core/src/adapter.ts` },
  ...readdirSync(packagesDir).map((name) => ({
    find: new RegExp(`^@rds-iam/${name}$`),
    replacement: `${packagesDir}${name}/src/index.ts`,
  })),
]

export default defineConfig({
  resolve: { alias: sourceAliases },
  test: {
    // .ci/run sums every report in test-results/; each Node of the runtime matrix names its own.
    reporters: [
      'default',
      ['json', { outputFile: process.env.RDS_IAM_VITEST_REPORT ?? 'test-results/vitest.json' }],
    ],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/core/src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'packages/!(core)/src/**/*.test.ts',
            'tests/**/*.test.ts',
            'examples/*/test/**/*.test.ts',
          ],
          globalSetup: ['packages/emulator/src/testing/global-setup.ts', 'tests/src/proxy-trust-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
