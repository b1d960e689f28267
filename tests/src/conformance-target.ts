import type { IamAuthOptions } from '@rds-iam/core'

export type Row = Record<string, unknown>

/** What the suite hands an adapter: the driver-neutral parts of a config. */
export interface TargetConfig {
  // Left out when a test checks that PGHOST, PGPORT, PGUSER and PGDATABASE fill them in.
  host?: string
  port?: number
  user?: string
  database?: string
  ssl: IamAuthOptions['ssl']
  iam: Omit<IamAuthOptions, 'host' | 'port' | 'user' | 'ssl'>
  max: number
  /** The pool's own connection lifetime, in the driver's option for it; left out, the adapter's default applies. */
  maxLifetimeSeconds?: number
}

/** One connection taken out of the pool and kept open. */
export interface HeldConnection {
  query(text: string): Promise<Row[]>
  release(): Promise<void>
}

/** A pool (or pool-like `sql`) made by an adapter. */
export interface TargetPool {
  /** The driver's own pool object, inspected for leaked secrets. */
  driver: unknown
  query(text: string): Promise<Row[]>
  hold(): Promise<HeldConnection>
  end(): Promise<void>
  /** Connections the pool keeps, where the driver tells; a failed connect must never stay among them. */
  connectionCount?(): number
  /** The connection lifetime in seconds the driver's pool applies, as the driver reads its config. */
  lifetimeSeconds?(): Promise<number | undefined>
}

/** An adapter as the conformance suite drives it. */
export interface ConformanceTarget {
  name: string
  /** Whether connections come from a pool that retires them at an age (not standalone Clients). */
  pooled: boolean
  createPool(config: TargetConfig): TargetPool
}
