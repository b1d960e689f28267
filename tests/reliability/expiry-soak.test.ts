import { setTimeout as sleep } from 'node:timers/promises'
import type { Emulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProcessWatch, summarize, watchProcess } from './load'
import { runLoadScenario, type ServerLog, soakLoad, startRecordedEmulator, type TargetRun } from './scenario'
import { readSettings } from './settings'
import { type ReliabilityTarget, targets } from './targets'

// R1: the server accepts each token for 3 s only, so every adapter must notice rejected tokens and replace them
// while 8 workers per adapter keep opening connections (short idle timeouts close them between operations).
const settings = readSettings()
const TOKEN_LIFETIME_SECONDS = 3

describe(`R1 expiry soak: ${TOKEN_LIFETIME_SECONDS} s tokens, ${settings.workers} workers per adapter`, () => {
  let emulator: Emulator
  let server: ServerLog
  let processWatch: ProcessWatch
  let runs: Map<ReliabilityTarget, TargetRun>

  beforeAll(async () => {
    ;({ emulator, server } = await startRecordedEmulator())
    emulator.setTokenLifetime(TOKEN_LIFETIME_SECONDS)
    processWatch = watchProcess()
    runs = await runLoadScenario({
      scenario: 'r1',
      emulator,
      targets,
      workers: settings.workers,
      ...soakLoad(settings.workers),
      during: () => sleep(settings.expirySoakMs),
    })
    for (const [target, run] of runs) {
      const tokens = run.events.of('token-generated').length
      const expired = server.rejections(run.user, 'expired')
      console.log(
        summarize('R1', target, run.tally, `${tokens} tokens made, ${expired} expired tokens refused`),
      )
    }
  }, settings.expirySoakMs + 60_000)

  afterAll(async () => {
    processWatch?.stop()
    await emulator?.close()
  })

  for (const target of targets) {
    it(`${target.name}: every operation succeeds while tokens expire`, () => {
      const run = runs.get(target)!
      const { tally } = run
      expect(run.openErrors).toEqual([])
      expect(tally.operations).toBeGreaterThan(0)
      expect({ failed: tally.operations - tally.counts.ok, samples: tally.samples }).toEqual({
        failed: 0,
        samples: [],
      })
      expect(run.ended).toBe(true)
      // The soak outlived its first token, or it proved nothing about expiry.
      expect(run.events.of('token-generated').length).toBeGreaterThanOrEqual(2)
    })
  }

  it('no unhandled rejection or uncaught exception', () => {
    expect(processWatch.samples()).toEqual([])
  })
})
