import { type Cost, median, medianCost, pairedRatio } from './measure'
import { format, verdict } from './report'

/** What one fresh process of a cold-pool benchmark measured. */
export type ColdPoolRun = Cost & { tokens: number }

export interface ColdPoolReport<Name extends string> {
  /** The benchmark's id in the verdict lines: B2, B2-DSQL. */
  id: string
  title: string
  runs: Record<Name, ColdPoolRun[]>
  /** Each variant with the label it is printed under. */
  labels: Record<Name, string>
  subject: Name
  baseline: Name
  /** How the verdicts name the baseline: "hand-written", "AWS connector". */
  baselineName: string
}

/** Prints each variant's medians and the subject's paired ratios against the baseline, with its token count. */
export function reportColdPool<Name extends string>(report: ColdPoolReport<Name>): void {
  const { id, runs, labels, subject, baseline, baselineName } = report
  const tokens = (name: Name) => median(runs[name].map((run) => run.tokens))
  console.log(`${report.title} (median of ${runs[subject].length} processes each)`)
  const width = Math.max(...Object.values<string>(labels).map((label) => label.length)) + 1
  for (const name of Object.keys(labels) as Name[]) {
    const { wallMs, cpuMs } = medianCost(runs[name])
    console.log(
      `  ${labels[name].padEnd(width)} ${format(wallMs)} ms, ${format(cpuMs)} ms client CPU, ${tokens(name)} tokens`,
    )
  }
  const ratio = (measure: keyof Cost) =>
    pairedRatio(
      runs[subject].map((run) => run[measure]),
      runs[baseline].map((run) => run[measure]),
    )
  verdict(id, `cold pool time / ${baselineName}`, ratio('wallMs'), { atMost: 1 })
  verdict(id, `cold pool client CPU / ${baselineName}`, ratio('cpuMs'), { atMost: 1 })
  verdict(id, 'cold pool token generations', tokens(subject), { atMost: 1 })
}
