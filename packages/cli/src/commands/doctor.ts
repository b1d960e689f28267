import type { ConnectionFlags } from '../connection-flags'
import { DoctorContext } from '../doctor/doctor-context'
import { jsonReport, type StepReport, textReport } from '../doctor/doctor-report'
import { fail } from '../doctor/doctor-step'
import { DOCTOR_STEPS } from '../doctor/doctor-steps'
import { errorParts } from '../doctor/error-parts'
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes'

export interface DoctorFlags extends ConnectionFlags {
  json?: boolean
}

/** Runs the checks in order and stops at the first failure, which exits 1. */
export async function runDoctor(flags: DoctorFlags): Promise<number> {
  const report = flags.json ? jsonReport() : textReport()
  const context = new DoctorContext(flags)
  const reports: StepReport[] = []
  try {
    for (const step of DOCTOR_STEPS) {
      // Such steps come after the options step, which found the endpoint's kind.
      if (step.target !== undefined && step.target !== context.connection.auth.target) continue
      report.starting(step.name)
      // A step that throws is a failure of that step: the report still names it.
      const outcome = await step
        .run(context)
        .catch((error: unknown) =>
          fail(errorParts(error).summary, 'This is unexpected; please report it with the output of --json.'),
        )
      const stepReport = { step: step.name, ...outcome }
      reports.push(stepReport)
      report.finished(stepReport)
      if (outcome.status === 'fail') break
    }
  } finally {
    await context.client?.end().catch(() => {})
  }
  report.done(reports)
  return reports.some((stepReport) => stepReport.status === 'fail') ? EXIT_FAILURE : EXIT_OK
}
