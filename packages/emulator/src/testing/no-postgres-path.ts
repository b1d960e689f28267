import { existsSync } from 'node:fs'
import { mkdtemp, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** Where `program` is on the test's own PATH. */
export function onPath(program: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, program))) return join(dir, program)
  }
  throw new Error(`${program} is not on PATH`)
}

/**
 * A folder to use as PATH on a machine that has PostgreSQL, to act as one that has not: it holds what
 * `startPostgres` runs besides PostgreSQL (id, runuser, chown) and neither initdb, pg_ctl nor pg_config. The caller
 * removes it.
 */
export async function pathWithoutPostgres(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rds-iam-no-postgres-'))
  for (const program of ['id', 'runuser', 'chown']) await symlink(onPath(program), join(dir, program))
  return dir
}
