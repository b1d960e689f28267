import { setTimeout as sleep } from 'node:timers/promises'
import type { Emulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SwitchableProvider, switchableProvider } from './credential-schedule'
import { knownUpstream, type ProcessWatch, summarize, watchProcess, withDeadline } from './load'
import { endSessions, runLoadScenario, startRecordedEmulator, type TargetRun } from './scenario'
import { readSettings } from './settings'
import { type ReliabilityTarget, type Session, type Tuning, targets } from './targets'

// R3: faults under load. Each fault gets fresh pools whose workers run before, through and a while after it (the
// provider outage starts before they open, as for a process starting mid-incident). Whatever fails must fail as a
// classified RdsIamError, or with the driver's own error for a query it had already sent; nothing may hang or
// reject unhandled. Every pool stays open, lives through the later faults too, and takes its share of the health
// checks at the end: all of them must pass.
const settings = readSettings()
const HEALTH_CHECKS = 40
const WARM_UP_MS = 300
const RECOVERY_MS = 1_000
const TUNING: Tuning = { max: settings.workers, idleTimeoutMs: 200, connectTimeoutMs: 5_000 }
const MAX_THROTTLE_MS = 4_000
// Longer than anything a correct adapter may take: its connect timeout plus its throttling budget, and slack.
const DEADLINE_MS = TUNING.connectTimeoutMs + MAX_THROTTLE_MS + 6_000

// "restart() x2, dropConnections() x1": how often each name occurs.
function countOf(names: string[]): string {
  const counts = new Map<string, number>()
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1)
  return [...counts].map(([name, count]) => `${name} x${count}`).join(', ')
}

interface Fault {
  name: string
  /** Starts the fault; returns what ends it, or nothing for a fault that is over at once. */
  start(): Promise<(() => void) | undefined>
  /** Whether it starts before the pools open, so that their first connects meet it. */
  beforeOpening?: boolean
}

function faultsOf(emulator: Emulator, provider: SwitchableProvider): Fault[] {
  const seconds = settings.faultMs / 1000
  return [
    {
      name: `credential provider throwing for ${seconds} s`,
      // Pools that already hold credentials need no provider; new ones must fail cleanly while it is down. First,
      // so that its pools (which back off from a failing provider) have the longest time to recover before the
      // health checks.
      beforeOpening: true,
      start: async () => {
        provider.setDown(true)
        return () => provider.setDown(false)
      },
    },
    { name: 'restart()', start: async () => void (await emulator.restart()) },
    { name: 'dropConnections()', start: async () => void emulator.dropConnections() },
    {
      name: `refuseNew for ${seconds} s`,
      start: async () => {
        emulator.refuseNew(true)
        return () => emulator.refuseNew(false)
      },
    },
    {
      name: `throttle(3) for ${seconds} s`,
      start: async () => {
        emulator.throttle(3)
        return () => emulator.throttle(null)
      },
    },
  ]
}

describe('R3 faults under load', () => {
  let emulator: Emulator
  let processWatch: ProcessWatch
  const runs = new Map<ReliabilityTarget, TargetRun>()
  // The faults after which each adapter's failed health checks ran, one entry per failed check.
  const unhealthy = new Map<ReliabilityTarget, string[]>()
  // The pools, clients and sql of every fault, kept open: the health checks run on them afterwards.
  const survivors: { target: ReliabilityTarget; session: Session; fault: string }[] = []

  // Every pool that lived through a fault takes its share of the checks, all at once: a pool that does not
  // recover costs one connect timeout, not one per check. Answers the faults of the pools whose checks failed.
  async function healthChecks(pools: typeof survivors): Promise<string[]> {
    if (pools.length === 0) return Array(HEALTH_CHECKS).fill('no pool')
    const checks = Array.from({ length: HEALTH_CHECKS }, (_, index) => pools[index % pools.length]!)
    const results = await Promise.all(checks.map(({ session }) => withDeadline(session.cycle(), DEADLINE_MS)))
    return checks
      .filter((_, index) => {
        const result = results[index]!
        return result === 'hung' || !result.ok
      })
      .map(({ fault }) => fault)
  }

  beforeAll(
    async () => {
      ;({ emulator } = await startRecordedEmulator())
      processWatch = watchProcess(knownUpstream)
      const provider = switchableProvider(() => emulator.credentials)
      for (const fault of faultsOf(emulator, provider)) {
        let stop: (() => void) | undefined
        if (fault.beforeOpening) stop = await fault.start()
        const kept: [ReliabilityTarget, Session][] = []
        await runLoadScenario(
          {
            scenario: 'r3',
            emulator,
            targets,
            workers: Math.max(1, Math.round(settings.workers / 2)),
            tuning: TUNING,
            deadlineMs: DEADLINE_MS,
            // With the short idle timeout, pauses let connections close, so pools keep opening new ones into each fault.
            maxPauseMs: 300,
            iam: () => ({ credentials: () => provider.provide(), retry: { maxThrottleMs: MAX_THROTTLE_MS } }),
            label: `${fault.name}, `,
            during: async () => {
              await sleep(WARM_UP_MS)
              if (!fault.beforeOpening) stop = await fault.start()
              if (stop) {
                await sleep(settings.faultMs)
                stop()
              }
              await sleep(RECOVERY_MS)
            },
            keepOpen: kept,
          },
          runs,
        )
        survivors.push(...kept.map(([target, session]) => ({ target, session, fault: fault.name })))
      }
      await Promise.all(
        targets.map(async (target) => {
          unhealthy.set(target, await healthChecks(survivors.filter((pool) => pool.target === target)))
        }),
      )
      await endSessions(
        survivors.map(({ target, session }) => [target, session]),
        runs,
      )
      for (const [target, run] of runs) {
        const failed = unhealthy.get(target)!
        const after = failed.length ? ` (failed after: ${countOf(failed)})` : ''
        const health = `${HEALTH_CHECKS - failed.length}/${HEALTH_CHECKS} health checks passed${after}`
        console.log(summarize('R3', target, run.tally, `${health}, pools ended: ${run.ended}`))
      }
    },
    // Five faults with fresh pools each, the health checks, and room for an operation that hangs in each.
    5 * (WARM_UP_MS + settings.faultMs + RECOVERY_MS + DEADLINE_MS) + 60_000,
  )

  afterAll(async () => {
    processWatch?.stop()
    await emulator?.close()
  })

  for (const target of targets) {
    it(`${target.name}: every failure is classified, none hangs, and ${HEALTH_CHECKS} of ${HEALTH_CHECKS} health checks pass after`, () => {
      const { tally, ended, openErrors } = runs.get(target)!
      expect(openErrors).toEqual([])
      expect(tally.counts.ok).toBeGreaterThan(0)
      expect({
        unclassified: tally.counts.unclassified,
        hung: tally.counts.hung,
        samples: tally.samples,
        ended,
        failedHealthChecksAfter: countOf(unhealthy.get(target)!),
      }).toEqual({ unclassified: 0, hung: 0, samples: [], ended: true, failedHealthChecksAfter: '' })
    })
  }

  it('no unhandled rejection or uncaught exception but those of a known driver bug, which are counted', () => {
    console.log(`R3 unhandled failures of known driver bugs: ${JSON.stringify(processWatch.known())}`)
    expect(processWatch.samples()).toEqual([])
  })
})
