import { setTimeout as sleep } from 'node:timers/promises'
import { createServerCertificates, type Emulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProcessWatch, summarize, watchProcess, withDeadline } from './load'
import { endSessions, runLoadScenario, startRecordedEmulator, type TargetRun } from './scenario'
import { readSettings } from './settings'
import { type ReliabilityTarget, type Session, type Tuning, targets } from './targets'

// R5: a Blue/Green switchover under load. The blue endpoint starts refusing new connections, then goes away with
// the connections it holds; a green one (same upstream data, same CA, same key) takes over its name and port, as
// RDS renames the green environment's endpoints. Pools keep dialing the same name, so their new connections sign
// for that name and get in on green. Counted: the queries that fail during the switch. Required: every failure
// classified or the driver's own for a query it had sent, none hung, and every pool healthy on green after.
const settings = readSettings()
const ENDPOINT = 'orders.cluster-c9akciq32.eu-west-1.rds.amazonaws.com'
const WARM_UP_MS = 500
// How long blue refuses new connections before it goes away: RDS blocks writes and new connections while it
// switches, typically for under a minute; a short stand-in keeps the suite fast.
const REFUSING_MS = 1_000
const RECOVERY_MS = 1_500
const SETTLE_MS = 300
const HEALTH_CHECKS = 40
const MAX_THROTTLE_MS = 6_000
const TUNING: Tuning = { max: settings.workers, idleTimeoutMs: 200, connectTimeoutMs: 5_000 }
const DEADLINE_MS = TUNING.connectTimeoutMs + MAX_THROTTLE_MS + 6_000

describe('R5 Blue/Green switchover under load', () => {
  let blue: Emulator
  let green: Emulator | undefined
  let processWatch: ProcessWatch
  let acceptedByBlueAfterRefusing = 0
  let refusedByBlue = 0
  const runs = new Map<ReliabilityTarget, TargetRun>()
  const failedChecks = new Map<ReliabilityTarget, number>()

  beforeAll(
    async () => {
      const certificates = await createServerCertificates({ hosts: [ENDPOINT, 'localhost', '127.0.0.1'] })
      ;({ emulator: blue } = await startRecordedEmulator({ endpoint: ENDPOINT, certificates }))
      processWatch = watchProcess()
      const kept: [ReliabilityTarget, Session][] = []
      await runLoadScenario(
        {
          scenario: 'r5',
          emulator: blue,
          targets,
          workers: Math.max(1, Math.round(settings.workers / 2)),
          tuning: TUNING,
          deadlineMs: DEADLINE_MS,
          // Pauses past the idle timeout make pools open new connections into the switch.
          maxPauseMs: 300,
          iam: () => ({ retry: { maxThrottleMs: MAX_THROTTLE_MS } }),
          label: 'blue/green, ',
          during: async () => {
            await sleep(WARM_UP_MS)
            blue.refuseNew(true)
            // Logins blue had already taken in finish; nothing dialed after that gets in.
            await sleep(SETTLE_MS)
            const acceptedBefore = blue.stats().accepted
            await sleep(REFUSING_MS - SETTLE_MS)
            acceptedByBlueAfterRefusing = blue.stats().accepted - acceptedBefore
            refusedByBlue = blue.events.filter((event) => event.type === 'connection-refused').length
            const { port, credentials } = blue
            await blue.close()
            ;({ emulator: green } = await startRecordedEmulator({
              endpoint: ENDPOINT,
              port,
              certificates,
              credentials: [credentials],
            }))
            await sleep(RECOVERY_MS)
          },
          keepOpen: kept,
        },
        runs,
      )
      // Every pool that lived through the switch answers on green.
      for (const target of targets) {
        const pools = kept.filter(([kind]) => kind === target).map(([, session]) => session)
        const results = await Promise.all(
          Array.from({ length: HEALTH_CHECKS }, (_, index) =>
            withDeadline(pools[index % pools.length]!.cycle(), DEADLINE_MS),
          ),
        )
        failedChecks.set(target, results.filter((result) => result === 'hung' || !result.ok).length)
      }
      await endSessions(kept, runs)
      for (const [target, run] of runs) {
        const { ok, classified, unclassified, hung } = run.tally.counts
        const failed = run.tally.counts['after-send'] + classified + unclassified + hung
        const health = `${HEALTH_CHECKS - failedChecks.get(target)!}/${HEALTH_CHECKS} health checks on green`
        console.log(
          summarize(
            'R5',
            target,
            run.tally,
            `${failed} of ${ok + failed} queries failed during the switch, ${health}`,
          ),
        )
      }
    },
    WARM_UP_MS + REFUSING_MS + RECOVERY_MS + 2 * DEADLINE_MS + 60_000,
  )

  afterAll(async () => {
    processWatch?.stop()
    await green?.close()
    await blue?.close()
  })

  it('blue lets no new connection in once it refuses, and green serves the name after', () => {
    expect(acceptedByBlueAfterRefusing).toBe(0)
    expect(refusedByBlue).toBeGreaterThan(0)
    expect(green?.endpoint).toBe(ENDPOINT)
    expect(green?.stats().accepted).toBeGreaterThan(0)
  })

  for (const target of targets) {
    it(`${target.name}: new connections sign for the name they dial and get in on green; no failure unclassified or hung`, () => {
      const { tally, ended, openErrors, user } = runs.get(target)!
      expect(openErrors).toEqual([])
      expect(tally.counts.ok).toBeGreaterThan(0)
      expect(failedChecks.get(target)).toBe(0)
      // Green checks each token against its own name and port: what got in was signed for ENDPOINT.
      const tokenHosts = new Set(
        runs
          .get(target)!
          .events.of('token-generated')
          .map((event) => event.key.tokenHost),
      )
      expect([...tokenHosts]).toEqual([ENDPOINT])
      expect(green?.events.some((event) => event.type === 'auth-accepted' && event.user === user)).toBe(true)
      expect({
        unclassified: tally.counts.unclassified,
        hung: tally.counts.hung,
        samples: tally.samples,
        ended,
      }).toEqual({
        unclassified: 0,
        hung: 0,
        samples: [],
        ended: true,
      })
    })
  }

  it('no unhandled rejection or uncaught exception', () => {
    expect(processWatch.samples()).toEqual([])
  })
})
