import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

/** The user root hands PostgreSQL to, since PostgreSQL refuses to run as root. */
export interface RunAs {
  user: string
  uid: number
  gid: number
}

const execFileAsync = promisify(execFile)

// A machine with PostgreSQL installed has its `postgres` user; one without (a CI image, with the embedded
// binaries) still has `nobody`, which is enough for a throwaway cluster in a folder of its own.
const USERS = ['postgres', 'nobody']

async function lookUp(user: string): Promise<RunAs | undefined> {
  const id = async (flag: string): Promise<number> =>
    Number((await execFileAsync('id', [flag, user])).stdout.trim())
  try {
    return { user, uid: await id('-u'), gid: await id('-g') }
  } catch {
    return undefined
  }
}

/** Who runs PostgreSQL: undefined for a user other than root, who runs it as itself. */
export async function resolveRunAs(users: readonly string[] = USERS): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  for (const user of users) {
    const found = await lookUp(user)
    if (found) return found
  }
  throw new Error(
    `Running as root needs a user other than root to own the throwaway PostgreSQL, and none of ${users.join(', ')} exists: create one (useradd --system postgres)`,
  )
}

/** `program args`, run as `runAs` when given. */
export function commandAs(runAs: RunAs | undefined, program: string, args: string[]): [string, string[]] {
  return runAs ? ['runuser', ['-u', runAs.user, '--', program, ...args]] : [program, args]
}

/** Whether `runAs` may run `program` (a folder on the way to it may be closed to that user). */
export async function canRun(runAs: RunAs | undefined, program: string): Promise<boolean> {
  try {
    await execFileAsync(...commandAs(runAs, program, ['--version']))
    return true
  } catch {
    return false
  }
}
