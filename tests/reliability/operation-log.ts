import { describeFailure } from './load'
import type { Session } from './targets'

/** The faults of a scenario in the order they started, on the clock the operation logs read. */
export interface FaultTimeline {
  readonly faults: readonly { name: string; at: number }[]
  start(name: string): void
}

export function createFaultTimeline(): FaultTimeline {
  const faults: { name: string; at: number }[] = []
  return { faults, start: (name) => void faults.push({ name, at: performance.now() }) }
}

/** What one adapter's operations did around the faults of a timeline. */
export interface OperationLog {
  /** The same session, each cycle timed and its outcome placed after the fault it followed. */
  watch(session: Session): Session
  /** The longest any operation took, counting one still pending as lasting until now. */
  slowestMs(): number
  /** How the slowest finished operation ended: `ok`, or its error. */
  slowestOutcome(): string
  /** Failed operations that ended after each fault and before the next. */
  failuresPerFault(): number[]
  /** Failures that ended before the first fault. */
  failuresBeforeFaults(): number
  /** For each fault, how long until an operation started after it succeeded; undefined if none did. */
  recoveryMs(): (number | undefined)[]
}

export function createOperationLog(timeline: FaultTimeline): OperationLog {
  let slowest = 0
  let slowestOutcome = 'none'
  const pending = new Set<number>()
  const ended: { startedAt: number; endedAt: number; ok: boolean }[] = []
  // The index of the last fault started at or before `time`, -1 before the first.
  const faultAt = (time: number): number => timeline.faults.findLastIndex((fault) => fault.at <= time)
  return {
    watch: (session) => ({
      ...session,
      async cycle() {
        const startedAt = performance.now()
        pending.add(startedAt)
        const result = await session.cycle()
        const endedAt = performance.now()
        pending.delete(startedAt)
        if (endedAt - startedAt > slowest) {
          slowest = endedAt - startedAt
          slowestOutcome = result.ok ? 'ok' : describeFailure(result.error).slice(0, 120)
        }
        ended.push({ startedAt, endedAt, ok: result.ok })
        return result
      },
    }),
    slowestMs: () => Math.max(slowest, ...[...pending].map((startedAt) => performance.now() - startedAt)),
    slowestOutcome: () => slowestOutcome,
    failuresPerFault: () =>
      timeline.faults.map((_, index) => ended.filter((op) => !op.ok && faultAt(op.endedAt) === index).length),
    failuresBeforeFaults: () => ended.filter((op) => !op.ok && faultAt(op.endedAt) === -1).length,
    recoveryMs: () =>
      timeline.faults.map(({ at }) => {
        const firstOk = ended
          .filter((op) => op.ok && op.startedAt >= at)
          .reduce((first, op) => Math.min(first, op.endedAt), Number.POSITIVE_INFINITY)
        return Number.isFinite(firstOk) ? firstOk - at : undefined
      }),
  }
}
