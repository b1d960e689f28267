import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isRdsIamError } from '@rds-iam/core'
import type { Emulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type BadConfig, badConfigs } from './bad-configs'
import { describeFailure, isClassified, type ProcessWatch, watchProcess, withDeadline } from './load'
import { startRecordedEmulator } from './scenario'
import { type ReliabilityTarget, roleName, type Session, type Tuning, targets } from './targets'

// R4: configurations a user gets wrong. Each must be refused when the adapter's object is made or at its first
// connect, with an RdsIamError that has a code and a hint: never accepted, never a raw TypeError, never a hang.
const TUNING: Tuning = { max: 2, idleTimeoutMs: 1_000, connectTimeoutMs: 5_000 }
// Well past the connect timeout: a first connect still pending then is hung.
const DEADLINE_MS = 12_000
const CONCURRENT_CASES = 8

type Outcome =
  | 'refused'
  | 'accepted'
  | 'raw TypeError'
  | 'RdsIamError without a hint'
  | 'other error'
  | 'hung'

interface Verdict {
  label: string
  stage: 'creation' | 'first connect'
  outcome: Outcome
  error?: string
  code?: string
}

function judge(label: string, stage: Verdict['stage'], error: unknown): Verdict {
  const outcome: Outcome = isClassified(error)
    ? 'refused'
    : error instanceof TypeError
      ? 'raw TypeError'
      : isRdsIamError(error)
        ? 'RdsIamError without a hint'
        : 'other error'
  const code = isRdsIamError(error) ? error.code : undefined
  return { label, stage, outcome, error: describeFailure(error), code }
}

async function attempt(target: ReliabilityTarget, emulator: Emulator, bad: BadConfig): Promise<Verdict> {
  const config = bad.config(emulator.adapterOptions(roleName('r4', target)))
  let session: Session
  try {
    session = target.open(config, TUNING)
  } catch (error) {
    return judge(bad.label, 'creation', error)
  }
  const result = await withDeadline(session.cycle(), DEADLINE_MS)
  await withDeadline(session.end(), DEADLINE_MS)
  if (result === 'hung') return { label: bad.label, stage: 'first connect', outcome: 'hung' }
  if (result.ok) return { label: bad.label, stage: 'first connect', outcome: 'accepted' }
  return judge(bad.label, 'first connect', result.error)
}

async function attemptAll(target: ReliabilityTarget, emulator: Emulator): Promise<Verdict[]> {
  const verdicts: Verdict[] = []
  const queue = [...badConfigs]
  const worker = async (): Promise<void> => {
    for (let bad = queue.shift(); bad; bad = queue.shift())
      verdicts.push(await attempt(target, emulator, bad))
  }
  await Promise.all(Array.from({ length: CONCURRENT_CASES }, worker))
  return badConfigs.map((bad) => verdicts.find((verdict) => verdict.label === bad.label)!)
}

function report(target: ReliabilityTarget, verdicts: Verdict[], unhandled: number): string {
  const count = (outcome: Outcome, stage?: Verdict['stage']) =>
    verdicts.filter((verdict) => verdict.outcome === outcome && (!stage || verdict.stage === stage)).length
  const failing = verdicts.filter((verdict) => verdict.outcome !== 'refused')
  const summary =
    `R4 [${target.name}]: ${verdicts.length} bad configurations, ${count('refused')} refused with a classified ` +
    `RdsIamError (${count('refused', 'creation')} at creation, ${count('refused', 'first connect')} at first ` +
    `connect), ${count('accepted')} accepted, ${count('raw TypeError')} raw TypeErrors, ` +
    `${count('RdsIamError without a hint')} without a hint, ${count('other error')} other errors, ` +
    `${count('hung')} hung; ${unhandled} unhandled rejections in the whole run`
  const rows = failing.map(
    (verdict) => `  | ${verdict.label} | ${verdict.stage} | ${verdict.outcome} | ${verdict.error ?? ''} |`,
  )
  const table = rows.length ? ['  | configuration | stage | outcome | error |', ...rows] : []
  return [summary, ...table].join('\n')
}

describe(`R4 bad input: ${badConfigs.length} bad configurations per adapter`, () => {
  let emulator: Emulator
  let processWatch: ProcessWatch
  let awsDir: string
  const verdicts = new Map<ReliabilityTarget, Verdict[]>()

  beforeAll(async () => {
    awsDir = await mkdtemp(join(tmpdir(), 'rds-iam-r4-'))
    // Nothing in the environment may fill in what a case leaves out or answer for an unknown profile.
    const empty = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGSSLMODE', 'PGSSLROOTCERT', 'AWS_PROFILE']
    for (const name of [...empty, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      vi.stubEnv(name, '')
    }
    vi.stubEnv('AWS_CONFIG_FILE', join(awsDir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(awsDir, 'credentials'))
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    ;({ emulator } = await startRecordedEmulator())
    await Promise.all(targets.map((target) => emulator.createIamUser(roleName('r4', target))))
    processWatch = watchProcess()
    await Promise.all(
      targets.map(async (target) => {
        verdicts.set(target, await attemptAll(target, emulator))
      }),
    )
    for (const target of targets) console.log(report(target, verdicts.get(target)!, processWatch.unhandled()))
  }, 120_000)

  afterAll(async () => {
    processWatch?.stop()
    vi.unstubAllEnvs()
    await emulator?.close()
    if (awsDir) await rm(awsDir, { recursive: true, force: true })
  })

  it('tries at least 60 bad configurations, each with its own name', () => {
    expect(badConfigs.length).toBeGreaterThanOrEqual(60)
    expect(new Set(badConfigs.map((bad) => bad.label)).size).toBe(badConfigs.length)
  })

  for (const target of targets) {
    it(`${target.name}: refuses every one with an RdsIamError that has a code and a hint`, () => {
      const failing = verdicts
        .get(target)!
        .filter((verdict) => verdict.outcome !== 'refused')
        .map((verdict) => `${verdict.label}: ${verdict.outcome} at ${verdict.stage}`)
      expect(failing).toEqual([])
    })
  }

  for (const target of targets) {
    it(`${target.name}: refuses control characters and URLs that are not postgres:// URLs at creation, as config`, () => {
      const early = new Set(badConfigs.filter((bad) => bad.atCreation).map((bad) => bad.label))
      const late = verdicts
        .get(target)!
        .filter((verdict) => early.has(verdict.label))
        .filter((verdict) => verdict.stage !== 'creation' || verdict.code !== 'config')
        .map((verdict) => `${verdict.label}: ${verdict.code ?? verdict.outcome} at ${verdict.stage}`)
      expect(early.size).toBeGreaterThanOrEqual(30)
      expect(late).toEqual([])
    })
  }

  it('no unhandled rejection or uncaught exception', () => {
    expect(processWatch.samples()).toEqual([])
  })
})
