import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { loadDefaultCaCertificates } from '@rds-iam/core/adapter'

/** The PEM bundle core trusts by default (the Amazon RDS CAs plus Node's roots), as one file's text. */
export async function defaultCaBundle(): Promise<string> {
  const certificates = await loadDefaultCaCertificates()
  return `${certificates.map((pem) => pem.trim()).join('\n')}\n`
}

/**
 * Where `url`, `env` and `exec` keep the bundle for libpq's sslrootcert: a stable path, so a URL printed today
 * still works tomorrow, in the user's cache folder.
 */
export function defaultCaFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot =
    env.XDG_CACHE_HOME ||
    (process.platform === 'win32' && env.LOCALAPPDATA ? env.LOCALAPPDATA : join(homedir(), '.cache'))
  return join(cacheRoot, 'rds-iam', 'rds-ca-bundle.pem')
}

/** Writes the default bundle to `file` unless it already holds it, and returns the absolute path. */
export async function writeDefaultCaBundle(file: string): Promise<string> {
  const path = resolve(file)
  const bundle = await defaultCaBundle()
  const existing = await readFile(path, 'utf8').catch(() => undefined)
  if (existing === bundle) return path
  await mkdir(dirname(path), { recursive: true })
  // A concurrent reader (another rds-iam, a running psql) never sees a half-written file.
  const partial = `${path}.${process.pid}.tmp`
  await writeFile(partial, bundle)
  await rename(partial, path)
  return path
}
