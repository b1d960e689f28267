// What every bundled handler shares: where to connect comes from the environment, the adapter's events are
// counted, and the outcome is printed as one JSON line, so a test can hold bundled and unbundled runs to the
// same expectation field by field.
import type { IamEvent } from '@rds-iam/core'

/** What the test hands a handler in HANDLER_SETTINGS; AWS credentials come from the default chain (env). */
export interface HandlerSettings {
  host: string
  port: number
  user: string
  database: string
  /** The RDS name the emulator serves as: tokens are signed for it and its certificate names it. */
  tokenHost: string
  /** The user's own CA as `ssl: { ca }`; without it the adapter's default TLS applies. */
  ca?: string
  /** Connect with this URL instead of host, port, user and database. */
  connectionString?: string
}

export type HandlerOutcome =
  | { rows: readonly unknown[]; tokensGenerated: number; retries: number }
  | { error: { name: string; code: unknown; message: string } }

interface IamBlock {
  tokenHost: string
  onEvent: (event: IamEvent) => void
}

/** The settings as adapter options: either host options or a URL, each with the same `iam` block. */
export interface HandlerContext {
  hostOptions: {
    host: string
    port: number
    user: string
    database: string
    ssl: { ca: string } | undefined
    iam: IamBlock
  }
  connectionString: string | undefined
  iam: IamBlock
}

/** Runs `query` (one connect and `select 1 as one` through an adapter) and prints what came of it. */
export function runHandler(query: (context: HandlerContext) => Promise<readonly unknown[]>): void {
  const settings = JSON.parse(process.env.HANDLER_SETTINGS ?? '{}') as HandlerSettings
  let tokensGenerated = 0
  let retries = 0
  const onEvent = (event: IamEvent): void => {
    if (event.type === 'token-generated') tokensGenerated++
    if (event.type === 'auth-retry') retries++
  }
  const { host, port, user, database, tokenHost, ca, connectionString } = settings
  const iam = { tokenHost, onEvent }
  const hostOptions = { host, port, user, database, ssl: ca ? { ca } : undefined, iam }
  // No top-level await: a CJS bundle cannot hold one.
  query({ hostOptions, connectionString, iam }).then(
    (rows) => print({ rows, tokensGenerated, retries }),
    (error: unknown) => print({ error: describeError(error) }),
  )
}

function describeError(error: unknown): { name: string; code: unknown; message: string } {
  const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown }
  return { name: String(name), code, message: String(message) }
}

function print(outcome: HandlerOutcome): void {
  process.stdout.write(`${JSON.stringify(outcome)}\n`)
}
