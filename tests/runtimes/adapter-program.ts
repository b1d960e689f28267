// Run by Node, Bun and Deno (runtimes.test.ts): signs in through @rds-iam/pg or @rds-iam/postgres, as built and
// installed, and prints one JSON line of what happened. The test sets up the emulator and the impostors and says
// where they are in RDS_IAM_PROGRAM, as JSON of ProgramInput.
import type { IamEvent } from '@rds-iam/pg'
import { createClient, createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import type { ProgramInput, ProgramOutput } from './program-io'

type Options = ProgramInput['options']

const input = JSON.parse(process.env.RDS_IAM_PROGRAM ?? '') as ProgramInput
const events: IamEvent['type'][] = []
const withEvents = (options: Options) => ({
  ...options,
  iam: { ...options.iam, onEvent: (event: IamEvent) => events.push(event.type) },
})

// A connect that the runtime lets through to an impostor, which never answers, fails in seconds rather than hang.
const CONNECT_TIMEOUT_SECONDS = 5

// One query on a new pool, client or sql of the adapter, which is then closed.
async function query(options: Options): Promise<string> {
  const sql = 'select current_user as who'
  const connectionTimeoutMillis = CONNECT_TIMEOUT_SECONDS * 1000
  if (input.adapter === 'pg-pool') {
    const pool = createPool({ ...withEvents(options), connectionTimeoutMillis })
    try {
      return (await pool.query<{ who: string }>(sql)).rows[0]!.who
    } finally {
      await pool.end()
    }
  }
  if (input.adapter === 'pg-client') {
    const client = createClient({ ...withEvents(options), connectionTimeoutMillis })
    try {
      await client.connect()
      return (await client.query<{ who: string }>(sql)).rows[0]!.who
    } finally {
      await client.end().catch(() => {})
    }
  }
  const postgres = createSql({ ...withEvents(options), max: 1, connect_timeout: CONNECT_TIMEOUT_SECONDS })
  try {
    const [row] = await postgres<{ who: string }[]>`select current_user as who`
    return row!.who
  } finally {
    await postgres.end()
  }
}

function failure(error: unknown): ProgramOutput['failures'][number] {
  const { name, code, message } = error as { name?: string; code?: unknown; message?: string }
  return { name: String(name), code: typeof code === 'string' ? code : undefined, message: String(message) }
}

const output: ProgramOutput = { runtime: input.runtime, users: [], failures: [], events }
for (const options of input.attempts) {
  try {
    output.users.push(
      await query({ ...input.options, ...options, iam: { ...input.options.iam, ...options.iam } }),
    )
  } catch (error) {
    output.failures.push(failure(error))
  }
}
console.log(JSON.stringify(output))
