import { randomBytes, randomInt } from 'node:crypto'
import type { AwsCredentialIdentity } from '@rds-iam/core'

/** One set of temporary credentials, as STS or a credential_process hands it out. */
export interface CredentialGeneration {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  issuedAt: Date
  expiration: Date
}

/**
 * Temporary credentials that rotate on a timetable fixed in advance, so the emulator can be told every key it will
 * see (with its expiry, which it enforces) before the run starts.
 */
export interface CredentialSchedule {
  readonly generations: readonly CredentialGeneration[]
  /** The newest generation issued by `now`: what a credential service would hand out then. */
  current(now?: number): CredentialGeneration
  expirationOf(accessKeyId: string): Date | undefined
}

export interface ScheduleOptions {
  /** When the run starts, epoch ms. */
  startAt: number
  /** The schedule covers at least this long after `startAt`. */
  coversMs: number
  /** A new generation every min..max ms, picked at random for each. */
  rotationMs: { min: number; max: number }
  /** Each generation expires this long after it was issued. */
  lifetimeMs: number
}

function randomBase32(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('')
}

/** A new set of temporary credentials, issued at `issuedAt` and valid for `lifetimeMs`. */
export function temporaryCredentials(issuedAt: number, lifetimeMs: number): CredentialGeneration {
  return {
    accessKeyId: `ASIA${randomBase32(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(120).toString('base64'),
    issuedAt: new Date(issuedAt),
    expiration: new Date(issuedAt + lifetimeMs),
  }
}

/**
 * The first generation is issued almost a whole rotation before the run starts, as a credential service that has
 * been running hands out credentials of any age; it puts the first moment a process must change credentials early
 * in a short run instead of anywhere in its first half.
 */
export function createCredentialSchedule(options: ScheduleOptions): CredentialSchedule {
  const { startAt, coversMs, rotationMs, lifetimeMs } = options
  const firstIssuedAt = startAt - (rotationMs.max - 1_000)
  const generations = [temporaryCredentials(firstIssuedAt, lifetimeMs)]
  let issuedAt = startAt + 1_000
  while (issuedAt <= startAt + coversMs + rotationMs.max) {
    generations.push(temporaryCredentials(issuedAt, lifetimeMs))
    issuedAt += rotationMs.min + Math.random() * (rotationMs.max - rotationMs.min)
  }
  return {
    generations,
    current: (now = Date.now()) => generations.findLast((candidate) => candidate.issuedAt.getTime() <= now)!,
    expirationOf: (accessKeyId) =>
      generations.find((candidate) => candidate.accessKeyId === accessKeyId)?.expiration,
  }
}

/** A credential provider of the suite's own, with an outage switch for R3. */
export interface SwitchableProvider {
  provide(): Promise<AwsCredentialIdentity>
  /** While down, every call throws the way a failing STS call does. */
  setDown(down: boolean): void
}

/** @param current the credentials a working provider would return now */
export function switchableProvider(current: () => AwsCredentialIdentity): SwitchableProvider {
  let down = false
  return {
    async provide() {
      if (down) throw new Error('STS unavailable: the credential service is down for this test')
      const { accessKeyId, secretAccessKey, sessionToken, expiration } = current()
      // A fresh object each time, as real providers return.
      return {
        accessKeyId,
        secretAccessKey,
        ...(sessionToken === undefined ? {} : { sessionToken }),
        ...(expiration === undefined ? {} : { expiration: new Date(expiration) }),
      }
    },
    setDown: (value) => {
      down = value
    },
  }
}
