import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { createIamAuth, type IamLogger } from '@rds-iam/core'
import type { AdapterOptions, Emulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSecretWatch, type SecretWatch } from '../src/secret-watch'
import { type CredentialGeneration, temporaryCredentials } from './credential-schedule'
import { type ProcessWatch, watchProcess, withDeadline } from './load'
import { configFor, startRecordedEmulator } from './scenario'
import { type ReliabilityTarget, roleName, type Session, type Tuning, targets } from './targets'

// R6: every kind of failure, driven through each adapter with a logger and onEvent capturing everything; then
// logs, events, errors (with stacks and causes), and util.inspect at depth 12 and JSON of every pool, client,
// socket and error are searched for token signatures, secret keys and session tokens.
const TUNING: Tuning = { max: 4, idleTimeoutMs: 1_000, connectTimeoutMs: 1_500 }
// R3 judges hangs; here an operation still pending after this is left behind and counted, so the run stays short.
const DEADLINE_MS = 4_000
const INSPECT_DEPTH = 12
const DENIED_SUFFIX = '_denied'

/** Everything a user could see, kept per source so a leak names where it was found without showing it. */
class Exposure {
  private readonly sources: { label: string; watch: SecretWatch }[] = []
  /** Failure kinds whose operation was still pending at the deadline. */
  readonly hung: string[] = []
  /** Failure kinds that failed nowhere: the search would then cover less than it claims. */
  readonly unfailed: string[] = []

  private watchFor(label: string): SecretWatch {
    const watch = createSecretWatch()
    this.sources.push({ label, watch })
    return watch
  }

  // Not SecretWatch.recordValue: it inspects less deep and throws on the circular JSON of driver objects.
  value(label: string, value: unknown): void {
    const watch = this.watchFor(label)
    watch.recordText(inspect(value, { depth: INSPECT_DEPTH }))
    try {
      watch.recordText(JSON.stringify(value) ?? '')
    } catch {
      // Circular driver objects have no JSON; inspect above covers them.
    }
  }

  /** An error, then its causes as ORMs and drivers nest them: cause, original, parent, errors. */
  error(label: string, error: unknown): void {
    const pending = [error]
    const seen = new Set<unknown>()
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
      if (next === null || seen.has(next)) continue
      seen.add(next)
      const watch = this.watchFor(label)
      try {
        watch.recordError(next)
      } catch {
        // An error holding its driver objects has circular JSON: its text and stack are still what a user sees.
        watch.recordText(`${String(next)}\n${(next as Error).stack ?? ''}`)
      }
      this.value(label, next)
      const nested = next as { cause?: unknown; original?: unknown; parent?: unknown; errors?: unknown }
      pending.push(
        nested.cause,
        nested.original,
        nested.parent,
        ...(Array.isArray(nested.errors) ? nested.errors : []),
      )
    }
  }

  outputs(): number {
    return this.sources.reduce((sum, source) => sum + source.watch.size(), 0)
  }

  /** Where a secret or a token showed, and what kind: never the secret itself. */
  leaks(secrets: Record<string, string[]>): string[] {
    return this.sources.flatMap(({ label, watch }) => {
      const found = Object.entries(secrets)
        .filter(([, values]) => values.length > 0 && watch.leaks(values).length > 0)
        .map(([name]) => name)
      const tokens = watch.leaks([]).length > 0 ? ['a token'] : []
      const kinds = tokens.length ? tokens : found
      return kinds.length ? [`${label}: ${kinds.join(', ')}`] : []
    })
  }
}

interface Drive {
  target: ReliabilityTarget
  emulator: Emulator
  exposure: Exposure
  /** The valid config of this adapter's user, with the capturing logger and onEvent, and `iam` laid over it. */
  valid(iam?: Record<string, unknown>): AdapterOptions & { iam: Record<string, unknown> }
  /** Opens a session (a refusal is recorded), runs one operation, records everything, ends it. */
  attempt(kind: string, config: unknown, during?: (session: Session) => Promise<void>): Promise<void>
}

interface FailureKind {
  name: string
  /** Whether its operation must fail (or hang): false where a retry or a later query may hide the fault. */
  fails: boolean
  drive(context: Drive): Promise<void>
}

function failureKinds(shortLived: CredentialGeneration): FailureKind[] {
  const asUser = async (context: Drive, suffix: string, create: (user: string) => Promise<void>) => {
    const user = `${roleName('r6', context.target)}${suffix}`
    await create(user)
    const valid = context.valid()
    return { ...valid, user }
  }
  return [
    {
      name: 'signed in, a connection held',
      fails: false,
      drive: (context) =>
        context.attempt('signed in', context.valid(), async (session) => {
          const held = await session.hold()
          context.exposure.value('held connection and its socket', held.reachable)
          context.exposure.value('pool or sql while a connection is held', session.reachable())
          await held.release()
        }),
    },
    {
      name: 'rejected once, retried',
      fails: false,
      drive: async (context) => {
        context.emulator.rejectNext(1)
        await context.attempt('rejected once', context.valid())
      },
    },
    {
      name: 'token refused by policy',
      fails: true,
      drive: async (context) =>
        context.attempt(
          'refused by policy',
          await asUser(context, DENIED_SUFFIX, context.emulator.createIamUser),
        ),
    },
    {
      name: 'credentials expired at the server',
      fails: true,
      drive: async (context) => {
        const config = context.valid({ credentials: { ...shortLived } })
        context.emulator.setClockOffset(shortLived.expiration.getTime() - Date.now() + 60_000)
        try {
          await context.attempt('credentials expired', config)
        } finally {
          context.emulator.setClockOffset(0)
        }
      },
    },
    {
      name: 'throttled',
      fails: true,
      drive: async (context) => {
        context.emulator.throttle(0)
        try {
          await context.attempt('throttled', context.valid({ retry: { maxThrottleMs: 800 } }))
        } finally {
          context.emulator.throttle(null)
        }
      },
    },
    {
      name: 'not an IAM user',
      fails: true,
      drive: async (context) =>
        context.attempt(
          'not an IAM user',
          await asUser(context, '_plain', (user) =>
            context.emulator.createPasswordUser(user, 'a-password-of-its-own'),
          ),
        ),
    },
    {
      name: 'credential provider throwing',
      fails: true,
      drive: (context) =>
        context.attempt(
          'provider throwing',
          context.valid({
            credentials: async () => {
              throw new Error('the credential service is down')
            },
          }),
        ),
    },
    {
      name: 'unknown profile',
      fails: true,
      drive: (context) =>
        context.attempt(
          'unknown profile',
          context.valid({ credentials: undefined, profile: 'no-such-profile' }),
        ),
    },
    {
      name: 'new connections refused',
      fails: true,
      drive: async (context) => {
        context.emulator.refuseNew(true)
        try {
          await context.attempt('refused connections', context.valid())
        } finally {
          context.emulator.refuseNew(false)
        }
      },
    },
    {
      name: 'connections dropped while held',
      fails: false,
      drive: (context) =>
        context.attempt('dropped connections', context.valid(), async (session) => {
          const held = await session.hold()
          context.emulator.dropConnections()
          await held
            .release()
            .catch((error: unknown) => context.exposure.error('release after a drop', error))
          context.exposure.value('pool or sql after a drop', session.reachable())
        }),
    },
    {
      name: 'sign-in slower than the connect timeout',
      fails: true,
      drive: async (context) => {
        context.emulator.delayAuth(TUNING.connectTimeoutMs + 1_000)
        try {
          await context.attempt('connect timeout', context.valid())
        } finally {
          context.emulator.delayAuth(0)
        }
      },
    },
    {
      name: 'certificate not trusted',
      fails: true,
      drive: (context) =>
        context.attempt('untrusted certificate', { ...context.valid(), ssl: 'verify-full' }),
    },
    {
      name: 'region missing',
      fails: true,
      drive: (context) =>
        context.attempt('region missing', context.valid({ region: undefined, tokenHost: undefined })),
    },
    {
      name: 'TLS turned off',
      fails: true,
      drive: (context) => context.attempt('TLS turned off', { ...context.valid(), ssl: 'disable' }),
    },
    {
      name: 'invalid port',
      fails: true,
      drive: (context) => context.attempt('invalid port', { ...context.valid(), port: 'not-a-port' }),
    },
  ]
}

// What a token shows that no output may: its signature.
function signatureOf(token: string): string {
  return new URLSearchParams(token.slice(token.indexOf('?') + 1)).get('X-Amz-Signature') ?? ''
}

describe('R6 secrets: no token, secret key or session token in anything a user can see', () => {
  // One emulator per adapter: its switches (clock, throttle, refusal) act on every connection it serves, and the
  // adapters run side by side.
  const emulators: Emulator[] = []
  let awsDir: string
  let processWatch: ProcessWatch
  const longLived = temporaryCredentials(Date.now(), 3_600_000)
  // Valid long enough to sign (more than the cache's minute of margin), short enough to expire at the server
  // once its clock is moved.
  const shortLived = temporaryCredentials(Date.now(), 5 * 60_000)
  const exposures = new Map<ReliabilityTarget, Exposure>()
  const signatures = new Set<string>()
  const kinds = failureKinds(shortLived)

  async function collectSignature(valid: AdapterOptions): Promise<void> {
    // An IamAuth for the same endpoint, user and keys shares the process-wide cache: it answers with the token
    // the adapter's connections were given.
    const { host, port, user, iam } = valid
    const token = await createIamAuth({ host, port, user, ...iam, credentials: longLived }).getToken()
    signatures.add(signatureOf(token))
  }

  async function driveAll(target: ReliabilityTarget): Promise<void> {
    const { emulator } = await startRecordedEmulator({
      credentials: [longLived, shortLived],
      // The `rds-db:connect` policy of the emulator denies the users the 'token refused by policy' kind makes.
      policy: ({ user }) => !user.endsWith(DENIED_SUFFIX),
    })
    emulators.push(emulator)
    const exposure = new Exposure()
    exposures.set(target, exposure)
    const user = roleName('r6', target)
    await emulator.createIamUser(user)
    const logger: IamLogger = Object.fromEntries(
      (['debug', 'info', 'warn', 'error'] as const).map((level) => [
        level,
        (...args: unknown[]) => exposure.value(`logger.${level}`, args),
      ]),
    )
    // Whether the kind being driven made an operation fail.
    let failed = false
    const context: Drive = {
      target,
      emulator,
      exposure,
      valid: (iam = {}) =>
        configFor(emulator, user, {
          logger,
          onEvent: (event: unknown) => exposure.value('onEvent', event),
          ...iam,
        }),
      async attempt(kind, config, during) {
        let session: Session
        try {
          session = target.open(config, TUNING)
        } catch (error) {
          failed = true
          exposure.error(`${kind}: refused at creation`, error)
          return
        }
        const result = await withDeadline(session.cycle(), DEADLINE_MS)
        failed ||= result === 'hung' || !result.ok
        if (result === 'hung') exposure.hung.push(kind)
        else if (!result.ok) exposure.error(`${kind}: operation`, result.error)
        if (during) await during(session).catch((error: unknown) => exposure.error(`${kind}: held`, error))
        exposure.value(`${kind}: pool, client or sql`, session.reachable())
        await withDeadline(
          session.end().catch((error: unknown) => exposure.error(`${kind}: end`, error)),
          DEADLINE_MS,
        )
      },
    }
    for (const kind of kinds) {
      failed = false
      await kind.drive(context)
      if (kind.fails && !failed) exposure.unfailed.push(kind.name)
    }
    await collectSignature(emulator.adapterOptions(user))
  }

  beforeAll(async () => {
    awsDir = await mkdtemp(join(tmpdir(), 'rds-iam-r6-'))
    for (const name of ['AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID'])
      vi.stubEnv(name, '')
    vi.stubEnv('AWS_CONFIG_FILE', join(awsDir, 'config'))
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(awsDir, 'credentials'))
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    processWatch = watchProcess()
    await Promise.all(targets.map(driveAll))
    for (const target of targets) {
      const exposure = exposures.get(target)!
      const leaks = exposure.leaks(secretsByKind())
      console.log(
        `R6 [${target.name}]: ${kinds.length} failure kinds driven, ${exposure.outputs()} outputs searched ` +
          `(logs, events, errors with stacks and causes, inspect depth ${INSPECT_DEPTH} and JSON of pools, clients, ` +
          `sockets), ${signatures.size} token signatures and 4 keys looked for: ${leaks.length} leaking outputs` +
          (leaks.length ? ` (${leaks.join('; ')})` : '') +
          `; still pending after ${DEADLINE_MS / 1000} s: ${exposure.hung.join(', ') || 'none'}` +
          `; kinds that did not fail: ${exposure.unfailed.join(', ') || 'none'}`,
      )
    }
  }, 180_000)

  afterAll(async () => {
    processWatch?.stop()
    vi.unstubAllEnvs()
    await Promise.all(emulators.map((emulator) => emulator.close()))
    if (awsDir) await rm(awsDir, { recursive: true, force: true })
  })

  function secretsByKind(): Record<string, string[]> {
    return {
      'a secret access key': [longLived.secretAccessKey, shortLived.secretAccessKey],
      'a session token': [longLived.sessionToken, shortLived.sessionToken],
      'a token signature': [...signatures].filter(Boolean),
    }
  }

  for (const target of targets) {
    it(`${target.name}: nothing shows a token, a secret key or a session token`, () => {
      const exposure = exposures.get(target)!
      expect(exposure.outputs()).toBeGreaterThan(kinds.length * 3)
      expect(exposure.unfailed).toEqual([])
      expect(exposure.leaks(secretsByKind())).toEqual([])
    })
  }

  it('no unhandled rejection or uncaught exception', () => {
    expect(processWatch.samples()).toEqual([])
  })
})
