import { setTimeout as sleep } from 'node:timers/promises'
import { isRdsIamError, redact } from '@rds-iam/core'
import type { CycleResult, ReliabilityTarget, Session } from './targets'

/**
 * What became of one operation:
 * - `ok`;
 * - `classified`: an RdsIamError with a code and a hint, the answer for anything that failed to sign in;
 * - `after-send`: the driver's own error for a query it had already sent, which no library may hide;
 * - `unclassified`: anything else (a raw TypeError, a driver's connect error, an RdsIamError without a hint);
 * - `hung`: no answer within the operation's deadline.
 */
export type OutcomeKind = 'ok' | 'classified' | 'after-send' | 'unclassified' | 'hung'

export interface Tally {
  operations: number
  counts: Record<OutcomeKind, number>
  /** RdsIamError codes seen, with how often. */
  codes: Record<string, number>
  /** A few redacted examples of unclassified failures and of hangs, each with its phase, for the report. */
  samples: string[]
}

const SAMPLE_LIMIT = 5

export function createTally(): Tally {
  return {
    operations: 0,
    counts: { ok: 0, classified: 0, 'after-send': 0, unclassified: 0, hung: 0 },
    codes: {},
    samples: [],
  }
}

export function describeFailure(error: unknown): string {
  const name = (error as { name?: unknown })?.name
  const code = (error as { code?: unknown })?.code
  const message = error instanceof Error ? error.message : String(error)
  return redact(
    `${String(name ?? typeof error)}${code === undefined ? '' : ` ${String(code)}`}: ${message}`,
  ).slice(0, 240)
}

/** Whether an error is what rds-iam promises for a failed sign-in: an RdsIamError with a code and a hint. */
export function isClassified(error: unknown): boolean {
  return isRdsIamError(error) && error.code.length > 0 && error.hint.trim().length > 0
}

/** @param label names the phase of the scenario in the examples kept of unclassified failures and hangs */
export function record(
  tally: Tally,
  target: ReliabilityTarget,
  result: CycleResult | 'hung',
  label = '',
): OutcomeKind {
  tally.operations++
  const kind = outcomeOf(target, result)
  tally.counts[kind]++
  if (kind === 'classified') {
    const { code } = (result as { error: { code: string } }).error
    tally.codes[code] = (tally.codes[code] ?? 0) + 1
  }
  if (tally.samples.length < SAMPLE_LIMIT) {
    if (result === 'hung') tally.samples.push(`${label}no answer`)
    else if (kind === 'unclassified' && !result.ok) {
      tally.samples.push(`${label}${result.phase}: ${describeFailure(result.error)}`)
    }
  }
  return kind
}

function outcomeOf(target: ReliabilityTarget, result: CycleResult | 'hung'): OutcomeKind {
  if (result === 'hung') return 'hung'
  if (result.ok) return 'ok'
  if (isClassified(result.error)) return 'classified'
  if (target.isDriverErrorAfterSend(result.error, result.phase)) return 'after-send'
  return 'unclassified'
}

/** Resolves with the operation's result, or `hung` once `deadlineMs` passed without one. */
export async function withDeadline<T>(operation: Promise<T>, deadlineMs: number): Promise<T | 'hung'> {
  const timer = new AbortController()
  const deadline = sleep(deadlineMs, 'hung' as const, { signal: timer.signal }).catch(() => 'hung' as const)
  try {
    return await Promise.race([operation, deadline])
  } finally {
    timer.abort()
  }
}

export interface LoadOptions {
  target: ReliabilityTarget
  session: Session
  workers: number
  /** The workers stop starting operations once this returns true. */
  stopped: () => boolean
  deadlineMs: number
  /** Longest random pause between a worker's operations: lets idle timeouts close connections so new ones open. */
  maxPauseMs: number
  tally: Tally
  label?: string
}

/** Runs `workers` loops of connect, query, release until stopped; every outcome lands in the tally. */
export async function runLoad(options: LoadOptions): Promise<void> {
  const { target, session, workers, stopped, deadlineMs, maxPauseMs, tally, label } = options
  const worker = async (): Promise<void> => {
    while (!stopped()) {
      record(tally, target, await withDeadline(session.cycle(), deadlineMs), label)
      await sleep(Math.random() * maxPauseMs)
    }
  }
  await Promise.all(Array.from({ length: workers }, worker))
}

/** One summary line: the counts a scenario prints for one adapter. */
export function summarize(scenario: string, target: ReliabilityTarget, tally: Tally, extra = ''): string {
  const { ok, classified, unclassified, hung } = tally.counts
  const codes = Object.entries(tally.codes)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ')
  const parts = [
    `${tally.operations} operations`,
    `${ok} ok`,
    `${classified} classified RdsIamError${codes ? ` (${codes})` : ''}`,
    `${tally.counts['after-send']} driver errors after send`,
    `${unclassified} unclassified`,
    `${hung} hung`,
  ]
  const samples = tally.samples.length ? ` | examples: ${tally.samples.join(' ; ')}` : ''
  return `${scenario} [${target.name}]: ${parts.join(', ')}${extra ? `; ${extra}` : ''}${samples}`
}

/** Counts the process's unhandled rejections and uncaught exceptions while a scenario runs. */
export interface ProcessWatch {
  unhandled(): number
  samples(): string[]
  /** How often each failure that `knownUpstream` named happened; these are not among `unhandled` or `samples`. */
  known(): Record<string, number>
  stop(): void
}

// postgres.js 3.4 starts its array-types query on each new connection and drops that promise (porsager/postgres
// #1192): a reset during it rejects with nobody listening, whoever made the connection. The error carries the query
// it failed, so it is told apart from anything else, and counted rather than hidden.
const ARRAY_TYPES_QUERY = /from pg_catalog\.pg_type/

/** Names an unhandled failure that a driver's own bug raises whatever rds-iam does; undefined for any other. */
export function knownUpstream(error: unknown): string | undefined {
  const query = (error as { query?: unknown } | null)?.query
  return typeof query === 'string' && ARRAY_TYPES_QUERY.test(query)
    ? "postgres.js's dropped array-types fetch (porsager/postgres#1192)"
    : undefined
}

/**
 * @param knownUpstream names a failure that a driver's own bug raises whatever rds-iam does, so a scenario that runs
 * the plain driver beside the adapter can count it apart; undefined for anything else
 */
export function watchProcess(knownUpstream?: (error: unknown) => string | undefined): ProcessWatch {
  const seen: string[] = []
  const known: Record<string, number> = {}
  // The first frames of the stack say whose socket or promise it was: the adapter, the driver or the emulator.
  const onFailure = (error: unknown): void => {
    const name = knownUpstream?.(error)
    if (name !== undefined) {
      known[name] = (known[name] ?? 0) + 1
      return
    }
    const frames = error instanceof Error ? (error.stack ?? '').split('\n').slice(1, 4) : []
    seen.push(redact([describeFailure(error), ...frames.map((frame) => frame.trim())].join(' | ')))
  }
  process.on('unhandledRejection', onFailure)
  process.on('uncaughtException', onFailure)
  return {
    unhandled: () => seen.length,
    samples: () => seen.slice(0, SAMPLE_LIMIT),
    known: () => ({ ...known }),
    stop: () => {
      process.off('unhandledRejection', onFailure)
      process.off('uncaughtException', onFailure)
    },
  }
}
