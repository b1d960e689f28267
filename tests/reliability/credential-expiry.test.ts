import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Emulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type CredentialSchedule, createCredentialSchedule, switchableProvider } from './credential-schedule'
import { type ProcessWatch, summarize, watchProcess } from './load'
import { runLoadScenario, type ServerLog, soakLoad, startRecordedEmulator, type TargetRun } from './scenario'
import { readSettings } from './settings'
import { pgPoolTarget, type ReliabilityTarget, targets } from './targets'

// R2: temporary credentials (session token, expiration) rotate on a timetable the emulator knows, and it refuses
// any token used after the credentials that signed it expired. With the default cache settings, no connect may
// fail around a rotation and no token may claim a life beyond its credentials'.
const settings = readSettings()
const PROFILE = 'rel-r2-credential-process'

// The SDK's own provider chain running a real credential_process, next to a provider function of the suite's.
const viaCredentialProcess: ReliabilityTarget = {
  ...pgPoolTarget,
  name: 'pg Pool, profile with credential_process',
}
const r2Targets = [...targets, viaCredentialProcess]

/** Tokens the library said would live longer than the credentials that signed them. */
function tokensOutlivingCredentials(run: TargetRun, schedule: CredentialSchedule): number {
  return run.events.of('token-generated').filter((event) => {
    const credentialsExpireAt = schedule.expirationOf(event.key.accessKeyId)
    return credentialsExpireAt === undefined || event.expiresAt.getTime() > credentialsExpireAt.getTime()
  }).length
}

function generationsUsed(run: TargetRun): number {
  return new Set(run.events.of('token-generated').map((event) => event.key.accessKeyId)).size
}

describe('R2 credential expiry: rotating temporary credentials, default cache settings', () => {
  let emulator: Emulator
  let server: ServerLog
  let processWatch: ProcessWatch
  let schedule: CredentialSchedule
  let runs: Map<ReliabilityTarget, TargetRun>
  let awsDir: string

  beforeAll(async () => {
    schedule = createCredentialSchedule({
      startAt: Date.now(),
      coversMs: settings.credentialSoakMs + 60_000,
      rotationMs: settings.rotationMs,
      lifetimeMs: settings.credentialLifetimeMs,
    })
    awsDir = await mkdtemp(join(tmpdir(), 'rds-iam-r2-'))
    const scheduleFile = join(awsDir, 'schedule.json')
    const script = fileURLToPath(new URL('./print-scheduled-credentials.mjs', import.meta.url))
    await writeFile(scheduleFile, JSON.stringify(schedule.generations))
    await writeFile(
      join(awsDir, 'config'),
      `[profile ${PROFILE}]\ncredential_process = "${process.execPath}" "${script}" "${scheduleFile}"\n`,
    )
    await writeFile(join(awsDir, 'credentials'), '')
    // Only the profile above may answer: no keys from the environment, no instance metadata.
    vi.stubEnv('AWS_CONFIG_FILE', join(awsDir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(awsDir, 'credentials'))
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      vi.stubEnv(name, '')
    }

    ;({ emulator, server } = await startRecordedEmulator({ credentials: [...schedule.generations] }))
    processWatch = watchProcess()
    const provider = switchableProvider(() => schedule.current())
    runs = await runLoadScenario({
      scenario: 'r2',
      emulator,
      targets: r2Targets,
      // What matters here is connections opening across rotations, not concurrency: half of R1's workers.
      workers: Math.max(1, Math.round(settings.workers / 2)),
      ...soakLoad(settings.workers),
      iam: (target) =>
        target === viaCredentialProcess
          ? { credentials: undefined, profile: PROFILE }
          : { credentials: () => provider.provide() },
      during: () => sleep(settings.credentialSoakMs),
    })
    for (const [target, run] of runs) {
      const counts = [
        `${run.events.of('token-generated').length} tokens made`,
        `${generationsUsed(run)} credential generations used`,
        `${tokensOutlivingCredentials(run, schedule)} tokens outliving their credentials`,
        `${server.rejections(run.user, 'session-expired')} refused for expired credentials`,
      ]
      console.log(summarize('R2', target, run.tally, counts.join(', ')))
    }
  }, settings.credentialSoakMs + 60_000)

  afterAll(async () => {
    processWatch?.stop()
    vi.unstubAllEnvs()
    await emulator?.close()
    if (awsDir) await rm(awsDir, { recursive: true, force: true })
  })

  for (const target of r2Targets) {
    it(`${target.name}: no failure and no token outliving its credentials`, () => {
      const run = runs.get(target)!
      const { tally } = run
      expect(run.openErrors).toEqual([])
      expect(tally.operations).toBeGreaterThan(0)
      expect({
        failed: tally.operations - tally.counts.ok,
        codes: tally.codes,
        samples: tally.samples,
        tokensOutlivingCredentials: tokensOutlivingCredentials(run, schedule),
        refusedForExpiredCredentials: server.rejections(run.user, 'session-expired'),
        ended: run.ended,
      }).toEqual({
        failed: 0,
        codes: {},
        samples: [],
        tokensOutlivingCredentials: 0,
        refusedForExpiredCredentials: 0,
        ended: true,
      })
    })
  }

  it('no unhandled rejection or uncaught exception', () => {
    expect(processWatch.samples()).toEqual([])
  })
})
