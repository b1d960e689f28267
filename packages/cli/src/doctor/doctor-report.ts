import { createColors } from 'picocolors'
import type { StepOutcome, StepStatus } from './doctor-step'

export interface StepReport extends StepOutcome {
  step: string
}

/** Where the doctor tells what it does: lines for people, one JSON document for machines. */
export interface DoctorReport {
  starting(step: string): void
  finished(report: StepReport): void
  done(reports: StepReport[]): void
}

// The longest step name, `authentication`, and a gap.
const LABEL_WIDTH = 16

/** Lines for a person; on a terminal, in colour, with a progress line while a step runs. */
export function textReport(stream: NodeJS.WriteStream = process.stdout): DoctorReport {
  const interactive = stream.isTTY === true
  const colors = createColors(interactive && !process.env.NO_COLOR)
  const paint: Record<StepStatus, (text: string) => string> = {
    pass: colors.green,
    warn: colors.yellow,
    skip: colors.dim,
    fail: colors.red,
  }
  const label: Record<StepStatus, string> = { pass: 'pass', warn: 'warn', skip: 'skip', fail: 'FAIL' }
  return {
    starting(step) {
      if (interactive) stream.write(colors.dim(`....  ${step.padEnd(LABEL_WIDTH)}checking`))
    },
    finished({ step, status, detail, fix }) {
      // The progress line is replaced by the result.
      if (interactive) stream.write('\r\x1b[2K')
      stream.write(`${paint[status](label[status])}  ${colors.bold(step.padEnd(LABEL_WIDTH))}${detail}\n`)
      if (fix) stream.write(`      ${' '.repeat(LABEL_WIDTH)}${paint[status]('fix:')} ${fix}\n`)
    },
    done(reports) {
      const failed = reports.find((report) => report.status === 'fail')
      stream.write(
        failed
          ? `\nStopped at ${failed.step}: fix it and run rds-iam doctor again.\n`
          : `\n${colors.green('Every check passed:')} tools that sign in with these settings will connect.\n`,
      )
    },
  }
}

/** One JSON document at the end: `{ ok, failedStep?, steps: [{ step, status, detail, fix? }] }`. */
export function jsonReport(stream: NodeJS.WriteStream = process.stdout): DoctorReport {
  return {
    starting() {},
    finished() {},
    done(steps) {
      const failed = steps.find((report) => report.status === 'fail')
      stream.write(
        `${JSON.stringify({ ok: failed === undefined, failedStep: failed?.step, steps }, null, 2)}\n`,
      )
    },
  }
}
