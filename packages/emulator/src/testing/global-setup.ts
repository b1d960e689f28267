// Loads vitest's own types so that the ProvidedContext augmentation below has a module to extend.
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'
import { type PostgresConnectionInfo, startPostgres } from '../postgres-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway PostgreSQL of this test run: pass it as `upstream` to `startEmulator`. */
    postgres: PostgresConnectionInfo
  }
}

/**
 * Vitest globalSetup: starts one throwaway PostgreSQL for the whole run and provides its connection info as
 * `postgres`; each test file then starts its own emulator in front of it. Stops it when the run ends.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['@rds-iam/emulator/vitest'] } })
 * // a test file
 * const emulator = await startEmulator({ upstream: inject('postgres') })
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { stop, ...postgres } = await startPostgres()
  project.provide('postgres', postgres)
  return stop
}
