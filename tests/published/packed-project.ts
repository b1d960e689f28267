// The packages as a user gets them: `pnpm pack` of each package (what `pnpm publish` uploads), installed with npm
// from the tarballs into a project of its own outside the workspace, beside the drivers and tools from the registry.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repoDir = fileURLToPath(new URL('../../', import.meta.url))

/** What `pnpm pack` wrote for one package. */
export interface PackedPackage {
  /** Folder name under packages/, e.g. `pg`. */
  dir: string
  tarball: string
  /** The package.json inside the tarball, as the registry would show it. */
  manifest: PackedManifest
  /** The LICENSE inside the tarball. */
  license: string
}

export interface PackedManifest {
  name: string
  version: string
  [field: string]: unknown
}

/** Packs every package under packages/ into `destination`. */
export async function packAll(destination: string): Promise<PackedPackage[]> {
  await mkdir(destination, { recursive: true })
  await run('pnpm', ['--recursive', '--filter=./packages/*', 'pack', '--pack-destination', destination], {
    cwd: repoDir,
    maxBuffer: 16 * 1024 * 1024,
  })
  const packed: PackedPackage[] = []
  for (const dir of await readdir(join(repoDir, 'packages'))) {
    const { name } = JSON.parse(await readFile(join(repoDir, 'packages', dir, 'package.json'), 'utf8')) as {
      name: string
    }
    // `@rds-iam/pg` packs as rds-iam-pg-<version>.tgz; the version is whatever changesets made it.
    const prefix = `${name.replace('@', '').replace('/', '-')}-`
    const file = (await readdir(destination)).find(
      (entry) => entry.startsWith(prefix) && /^\d/.test(entry.slice(prefix.length)),
    )
    if (file === undefined) throw new Error(`pnpm pack wrote no tarball for ${name}`)
    const tarball = join(destination, file)
    const inTarball = async (file: string): Promise<string> =>
      (await run('tar', ['-xzOf', tarball, `package/${file}`])).stdout
    const manifest = JSON.parse(await inTarball('package.json')) as PackedManifest
    packed.push({ dir, tarball, manifest, license: await inTarball('LICENSE') })
  }
  return packed
}

/** The ranges the workspace tests with (pnpm-workspace.yaml's catalog), so the project gets the same majors. */
export async function catalogRange(name: string): Promise<string> {
  const workspace = await readFile(join(repoDir, 'pnpm-workspace.yaml'), 'utf8')
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  const range = new RegExp(`^  "?${escaped}"?: (\\S+)$`, 'm').exec(workspace)?.[1]
  if (range === undefined) throw new Error(`${name} is not in the workspace catalog`)
  return range
}

/** A fresh npm project in the temporary directory with the tarballs and `dependencies` installed. */
export async function installProject(
  tarballs: string[],
  dependencies: string[],
): Promise<{ dir: string; seconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'rds-iam-published-'))
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'quickstart', private: true }, null, 2)}\n`,
  )
  const started = performance.now()
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, ...dependencies], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  })
  return { dir, seconds: (performance.now() - started) / 1000 }
}

interface LockEntry {
  resolved?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

/** The project's package-lock.json entries by location (`node_modules/pg`, ...). */
export async function lockEntries(projectDir: string): Promise<Record<string, LockEntry>> {
  const lock = JSON.parse(await readFile(join(projectDir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>
  }
  return lock.packages
}

/**
 * How many packages `npm install <roots>` puts on disk: the roots and everything they depend on, as npm resolves
 * them (the nearest node_modules up from the dependent), counting installed optional ones and required peers.
 */
export function installedCount(
  projectDir: string,
  entries: Record<string, LockEntry>,
  roots: string[],
): number {
  const seen = new Set<string>()
  const visit = (location: string): void => {
    if (seen.has(location)) return
    seen.add(location)
    const entry = entries[location] ?? {}
    const optionalPeers = entry.peerDependenciesMeta ?? {}
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers[name]?.optional),
    ]
    for (const name of names) {
      const found = resolveFrom(location, name, entries)
      if (found !== undefined && existsSync(join(projectDir, found))) visit(found)
    }
  }
  for (const root of roots) visit(`node_modules/${root}`)
  return seen.size
}

function resolveFrom(location: string, name: string, entries: Record<string, LockEntry>): string | undefined {
  let base = location
  for (;;) {
    const candidate = `${base}/node_modules/${name}`
    if (entries[candidate]) return candidate
    const cut = base.lastIndexOf('/node_modules/')
    if (cut === -1) break
    base = base.slice(0, cut)
  }
  return entries[`node_modules/${name}`] ? `node_modules/${name}` : undefined
}
