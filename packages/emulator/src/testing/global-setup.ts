// Loads vitest's own types so that the ProvidedContext augmentation below has a module to extend.
import type {} from 'vitest'
import { type PostgresConnectionInfo, startPostgres } from '../postgres-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway PostgreSQL of this test run: pass it as `upstream` to `startEmulator`. */
    postgres: PostgresConnectionInfo
  }
}

/**
 * The one thing this setup needs from Vitest's `TestProject`. Named here rather than imported from `vitest/node`
 * so the entry does not depend on one Vitest major's internals: any Vitest from 3 on passes its project.
 */
export interface ProvidingProject {
  provide(key: 'postgres', value: PostgresConnectionInfo): void
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
export async function setup(project: ProvidingProject): Promise<() => Promise<void>> {
  const { stop, ...postgres } = await startPostgres()
  project.provide('postgres', postgres)
  return stop
}
