import type { IamEvent } from '@rds-iam/core'
import {
  type AdapterOptions,
  type Emulator,
  type EmulatorEvent,
  type EmulatorOptions,
  startEmulator,
} from '@rds-iam/emulator'
import { inject } from 'vitest'
import { createTally, describeFailure, runLoad, type Tally, withDeadline } from './load'
import { type ReliabilityTarget, roleName, type Session, type Tuning } from './targets'

/** Every event of the emulator, kept so each adapter's server-side rejections can be counted by its user. */
export interface ServerLog {
  rejections(user: string, reason?: string): number
}

export async function startRecordedEmulator(
  options: Omit<EmulatorOptions, 'upstream' | 'onEvent'> = {},
): Promise<{ emulator: Emulator; server: ServerLog }> {
  const events: EmulatorEvent[] = []
  const emulator = await startEmulator({
    ...options,
    upstream: inject('postgres'),
    onEvent: (e) => events.push(e),
  })
  const server: ServerLog = {
    rejections: (user, reason) =>
      events.filter(
        (event) =>
          event.type === 'auth-rejected' &&
          event.user === user &&
          (reason === undefined || event.reason === reason),
      ).length,
  }
  return { emulator, server }
}

/** The emulator's valid config for `user`, with `iam` options laid over its own. */
export function configFor(
  emulator: Emulator,
  user: string,
  iam: Record<string, unknown> = {},
): AdapterOptions & { iam: Record<string, unknown> } {
  const valid = emulator.adapterOptions(user)
  return { ...valid, iam: { ...valid.iam, ...iam } }
}

/** The events one adapter's IamAuth emitted. */
export interface IamEventLog {
  onEvent(event: IamEvent): void
  of<T extends IamEvent['type']>(type: T): Extract<IamEvent, { type: T }>[]
}

export function recordIamEvents(): IamEventLog {
  const events: IamEvent[] = []
  return {
    onEvent: (event) => events.push(event),
    of: <T extends IamEvent['type']>(type: T) =>
      events.filter((event): event is Extract<IamEvent, { type: T }> => event.type === type),
  }
}

/** What a load scenario learned about one adapter. */
export interface TargetRun {
  user: string
  tally: Tally
  events: IamEventLog
  /** Whether every `end()` of its pools, clients or sql came back within the deadline. */
  ended: boolean
  /** Why the adapter refused a valid config, if it did: the scenario then ran without it. */
  openErrors: string[]
}

export interface LoadScenario {
  scenario: string
  emulator: Emulator
  targets: readonly ReliabilityTarget[]
  workers: number
  tuning: Tuning
  /** Longest an operation may take before it counts as hung. */
  deadlineMs: number
  maxPauseMs: number
  /** The `iam` options of each adapter besides the emulator's own and `onEvent`. */
  iam?: (target: ReliabilityTarget) => Record<string, unknown>
  /** Names this phase in the examples kept of unclassified failures. */
  label?: string
  /** Runs while the workers work; they stop when it resolves. */
  during(): Promise<void>
  /** Where the sessions go when the scenario keeps them open for later checks; otherwise they end with it. */
  keepOpen?: [ReliabilityTarget, Session][]
}

const END_DEADLINE_MS = 10_000

/**
 * Load settings of the soaks (R1, R2), which count every failure: a connect may take as long as a machine shared by
 * many test runs needs, and only one that never finishes counts as hung. Short idle timeouts, random pauses and a
 * one-second connection lifetime make connections close, so new ones keep opening (and meet expired tokens and
 * rotated credentials) however fast the machine answers.
 */
export function soakLoad(workers: number): Pick<LoadScenario, 'tuning' | 'deadlineMs' | 'maxPauseMs'> {
  return {
    tuning: { max: workers, idleTimeoutMs: 200, connectTimeoutMs: 30_000, lifetimeMs: 1_000 },
    deadlineMs: 45_000,
    maxPauseMs: 400,
  }
}

/**
 * Opens one session per adapter as its own IAM user and runs the workers of all adapters at once while `during`
 * runs. Counts add up in `runs`, so a scenario made of phases (each with fresh sessions) passes the same map.
 */
export async function runLoadScenario(
  options: LoadScenario,
  runs = new Map<ReliabilityTarget, TargetRun>(),
): Promise<Map<ReliabilityTarget, TargetRun>> {
  const { scenario, emulator, targets, workers, tuning, deadlineMs, maxPauseMs } = options
  const sessions: [ReliabilityTarget, Session][] = []
  for (const target of targets) {
    const user = roleName(scenario, target)
    await emulator.createIamUser(user)
    const run = runs.get(target) ?? {
      user,
      tally: createTally(),
      events: recordIamEvents(),
      ended: true,
      openErrors: [],
    }
    runs.set(target, run)
    const config = configFor(emulator, user, { ...options.iam?.(target), onEvent: run.events.onEvent })
    try {
      sessions.push([target, target.open(config, tuning)])
    } catch (error) {
      run.openErrors.push(describeFailure(error))
    }
  }
  let stopped = false
  const loads = sessions.map(([target, session]) =>
    runLoad({
      target,
      session,
      workers,
      stopped: () => stopped,
      deadlineMs,
      maxPauseMs,
      tally: runs.get(target)!.tally,
      label: options.label,
    }),
  )
  try {
    await options.during()
  } finally {
    stopped = true
    await Promise.all(loads)
    const { keepOpen } = options
    if (keepOpen) keepOpen.push(...sessions)
    else await endSessions(sessions, runs)
  }
  return runs
}

/** Ends every session within a deadline; a run whose pool, client or sql does not end is marked. */
export async function endSessions(
  sessions: [ReliabilityTarget, Session][],
  runs: Map<ReliabilityTarget, TargetRun>,
): Promise<void> {
  await Promise.all(
    sessions.map(async ([target, session]) => {
      const ended = (await withDeadline(session.end(), END_DEADLINE_MS)) !== 'hung'
      const run = runs.get(target)!
      run.ended &&= ended
    }),
  )
}
