/**
 * How long and how hard the reliability suite runs. The defaults keep the whole folder inside a minute on a
 * shared two-core machine, as part of `pnpm test`; the variables below make it a real soak, e.g.
 * `RDS_IAM_SOAK_SECONDS=300 pnpm vitest run tests/reliability`.
 */
export interface ReliabilitySettings {
  /** R1 and R2: how long the workers run (RDS_IAM_SOAK_SECONDS; default 8 s for R1, 14 s for R2). */
  expirySoakMs: number
  credentialSoakMs: number
  /** Workers per adapter (RDS_IAM_WORKERS, default 8). */
  workers: number
  /** R2: a new credential generation is issued every min..max seconds (RDS_IAM_ROTATION_SECONDS, "10-20"). */
  rotationMs: { min: number; max: number }
  /** R2: how long each generation stays valid (RDS_IAM_CREDENTIAL_LIFETIME_SECONDS, default 90). */
  credentialLifetimeMs: number
  /** R3: how long refuseNew, the provider outage and the throttle last (RDS_IAM_FAULT_SECONDS, default 2). */
  faultMs: number
  /** R7: time between one restart or dropConnections and the next (RDS_IAM_FAILOVER_SECONDS, default 2). */
  failoverIntervalMs: number
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`)
  return value
}

function secondsRange(name: string, fallback: string): { min: number; max: number } {
  const raw = process.env[name] || fallback
  const match = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(raw)
  const [min, max] = [Number(match?.[1]), Number(match?.[2])]
  if (!match || !(min > 0) || max < min)
    throw new Error(`${name} must look like "10-20" (seconds), got "${raw}"`)
  return { min: min * 1000, max: max * 1000 }
}

export function readSettings(): ReliabilitySettings {
  const soakSeconds = process.env.RDS_IAM_SOAK_SECONDS ? positiveNumber('RDS_IAM_SOAK_SECONDS', 0) : undefined
  return {
    expirySoakMs: (soakSeconds ?? 8) * 1000,
    // Past the moment (about 11 s in, with the default rotation and lifetime) when the credentials the run starts
    // with are too close to expiry to sign with the cache's default 60 s margin (see credential-schedule.ts).
    credentialSoakMs: (soakSeconds ?? 14) * 1000,
    workers: positiveNumber('RDS_IAM_WORKERS', 8),
    rotationMs: secondsRange('RDS_IAM_ROTATION_SECONDS', '10-20'),
    credentialLifetimeMs: positiveNumber('RDS_IAM_CREDENTIAL_LIFETIME_SECONDS', 90) * 1000,
    faultMs: positiveNumber('RDS_IAM_FAULT_SECONDS', 2) * 1000,
    failoverIntervalMs: positiveNumber('RDS_IAM_FAILOVER_SECONDS', 2) * 1000,
  }
}
