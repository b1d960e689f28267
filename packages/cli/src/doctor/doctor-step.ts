import type { TargetKind } from '@rds-iam/core'
import type { DoctorContext } from './doctor-context'

/**
 * - `pass`: checked and fine.
 * - `warn`: works, but not as it should (e.g. TLS without verification); the doctor goes on.
 * - `skip`: could not be checked, and signing in does not depend on it; the doctor goes on.
 * - `fail`: signing in cannot work until this is fixed; the doctor stops here.
 */
export type StepStatus = 'pass' | 'warn' | 'skip' | 'fail'

export interface StepOutcome {
  status: StepStatus
  /** What was found; never a token or a secret key. */
  detail: string
  /** What to change, for `fail` and `warn`. */
  fix?: string
}

/** One check, run after every check before it passed. */
export interface DoctorStep {
  /** A short stable name, for --json and for scripts. */
  name: string
  /** The one kind of endpoint the check is about; left out, it runs for every kind. */
  target?: TargetKind
  run(context: DoctorContext): Promise<StepOutcome>
}

export const pass = (detail: string): StepOutcome => ({ status: 'pass', detail })
export const skip = (detail: string): StepOutcome => ({ status: 'skip', detail })
export const warn = (detail: string, fix: string): StepOutcome => ({ status: 'warn', detail, fix })
export const fail = (detail: string, fix: string): StepOutcome => ({ status: 'fail', detail, fix })
