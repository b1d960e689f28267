import { createRetry } from './retry'
import type { AwsCredentialIdentity, AwsCredentialProvider, Clock, ErrorContext, IamEvent } from './types'

// Shaped like real keys so the signer accepts them; they open nothing.
export const FAKE_IDENTITY: AwsCredentialIdentity = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
}

export const RDS_HOST = 'mydb.abc123xyz.us-east-1.rds.amazonaws.com'

export interface FakeClock extends Clock {
  advance(ms: number): void
}

export function createFakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let now = start
  return {
    now: () => now,
    advance: (ms) => {
      now += ms
    },
  }
}

export interface CountingProvider extends AwsCredentialProvider {
  readonly calls: number
}

// Each call may hand out a different identity, the way rotating temporary credentials do.
export function createCountingProvider(
  identity: (call: number) => AwsCredentialIdentity = () => FAKE_IDENTITY,
): CountingProvider {
  let calls = 0
  const provider = async (): Promise<AwsCredentialIdentity> => identity(++calls)
  return Object.defineProperty(provider, 'calls', { get: () => calls }) as CountingProvider
}

export function collectEvents(): { events: IamEvent[]; onEvent: (event: IamEvent) => void } {
  const events: IamEvent[] = []
  return { events, onEvent: (event) => events.push(event) }
}

export function eventsOfType<T extends IamEvent['type']>(
  events: IamEvent[],
  type: T,
): Extract<IamEvent, { type: T }>[] {
  return events.filter((event): event is Extract<IamEvent, { type: T }> => event.type === type)
}

/** An error as node-postgres and postgres.js raise it: a message plus a SQLSTATE or errno `code`. */
export function driverError(code: string | undefined, message: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code })
}

export function deferred<T>(): {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
} {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

export interface RetryHarnessOptions {
  maxThrottleMs?: number
  random?: () => number
  context?: ErrorContext
}

// A retry whose sleeps and clock are fakes that advance together, and whose attempts count invalidations.
export function retryHarness(options: RetryHarnessOptions = {}) {
  const { events, onEvent } = collectEvents()
  const sleeps: number[] = []
  const time = { now: 0 }
  let invalidations = 0
  const context = options.context ?? { host: '127.0.0.1', port: 5432, user: 'app', region: 'us-east-1' }
  const retry = createRetry({
    maxThrottleMs: options.maxThrottleMs ?? 1_000,
    baseDelayMs: 100,
    startAttempt: (remainingMs) => ({
      attempt: { password: async () => 'token', remainingMs },
      failedWhileWaiting: () => undefined,
      abort: () => {},
      invalidateToken: () => {
        invalidations++
      },
    }),
    emit: onEvent,
    context: () => context,
    sleep: async (ms) => {
      sleeps.push(ms)
      time.now += ms
    },
    random: options.random ?? (() => 1),
    now: () => time.now,
  })
  return { retry, events, sleeps, time, invalidations: () => invalidations }
}
