// Bundles and subprocesses load the packages' built dist through their exports map, as an application does, so a
// dist older than its sources would test yesterday's code. Under turbo (`pnpm test`, which sets TURBO_HASH) the
// `^build` dependency has made dist current; turbo may leave an unchanged build's files with their old times, so
// only their presence is checked there. A targeted `pnpm vitest run` builds nothing, so there a dist older than
// its sources is named instead of failing for a reason the reader cannot see.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packagesDir = fileURLToPath(new URL('../../packages/', import.meta.url))

export async function requireFreshBuild(packageNames: readonly string[]): Promise<void> {
  for (const name of packageNames) {
    const builtAt = await oldestModification(
      ['index.js', 'index.cjs'].map((file) => join(packagesDir, name, 'dist', file)),
    ).catch(() => undefined)
    const builtByTurbo = process.env.TURBO_HASH !== undefined
    const sourcesChangedAt = builtByTurbo ? 0 : await newestSourceModification(join(packagesDir, name, 'src'))
    if (builtAt === undefined || builtAt < sourcesChangedAt) {
      throw new Error(
        `packages/${name}/dist is missing or older than its sources: run \`pnpm build\` first (with \`--force\` if turbo reports its outputs already on disk)`,
      )
    }
  }
}

async function oldestModification(files: string[]): Promise<number> {
  const stats = await Promise.all(files.map((file) => stat(file)))
  return Math.min(...stats.map((entry) => entry.mtimeMs))
}

async function newestSourceModification(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const sources = entries.filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
  const stats = await Promise.all(sources.map((entry) => stat(join(entry.parentPath, entry.name))))
  return Math.max(...stats.map((entry) => entry.mtimeMs))
}
