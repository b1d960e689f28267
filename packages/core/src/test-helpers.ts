import type { AwsCredentialIdentity, AwsCredentialProvider, Clock, IamEvent } from './types'

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
