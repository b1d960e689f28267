import type { AdapterOptions } from '@rds-iam/emulator'

export type ProgramAdapter = 'pg-pool' | 'pg-client' | 'postgres'

/** What runtimes.test.ts tells adapter-program.ts. */
export interface ProgramInput {
  runtime: string
  adapter: ProgramAdapter
  options: AdapterOptions
  /** One query each, on options merged over `options`. */
  attempts: ProgramAttempt[]
}

/** What one attempt changes: e.g. an impostor's port, with the token still signed for the emulator. */
export interface ProgramAttempt {
  port?: number
  ssl?: AdapterOptions['ssl'] & { crl?: string }
  iam?: Partial<AdapterOptions['iam']>
}

/** What adapter-program.ts prints. */
export interface ProgramOutput {
  runtime: string
  /** current_user of each attempt that connected. */
  users: string[]
  failures: { name: string; code: string | undefined; message: string }[]
  /** The types of the IamEvents of every attempt, in order. */
  events: string[]
}
