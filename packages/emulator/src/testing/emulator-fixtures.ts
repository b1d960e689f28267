import { randomBytes } from 'node:crypto'
import { DsqlSigner } from '@aws-sdk/dsql-signer'
import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { expect, inject, vi } from 'vitest'
import type { Emulator, EmulatorOptions } from '../start-emulator.js'
import { startEmulator } from '../start-emulator.js'
import type { EmulatorCredentials } from '../token-validator.js'

/** What a token is signed for; anything left out is what the emulator serves. */
export interface SigningOverrides {
  hostname?: string
  port?: number
  region?: string
  credentials?: EmulatorCredentials
}

/** Starts an emulator in front of the run's PostgreSQL (provided by the global setup). */
export function startTestEmulator(options: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  return startEmulator({ upstream: inject('postgres'), ...options })
}

/** A role name no other test file uses, since all files share one PostgreSQL. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`
}

/** A real token from `@aws-sdk/rds-signer`, signed for the emulator unless overridden. */
export function signToken(
  emulator: Emulator,
  user: string,
  overrides: SigningOverrides = {},
): Promise<string> {
  return new Signer({
    hostname: overrides.hostname ?? emulator.endpoint,
    port: overrides.port ?? emulator.port,
    region: overrides.region ?? emulator.region,
    credentials: overrides.credentials ?? emulator.credentials,
    username: user,
  }).getAuthToken()
}

/** What a DSQL token is signed for; anything left out is what the emulator serves, as the admin role if `admin`. */
export interface DsqlSigningOverrides {
  admin?: boolean
  hostname?: string
  region?: string
  credentials?: EmulatorCredentials
  expiresIn?: number
}

/** A real token from `@aws-sdk/dsql-signer` for a DSQL-mode emulator. */
export function signDsqlToken(emulator: Emulator, overrides: DsqlSigningOverrides = {}): Promise<string> {
  const signer = new DsqlSigner({
    hostname: overrides.hostname ?? emulator.endpoint,
    region: overrides.region ?? emulator.region,
    credentials: overrides.credentials ?? emulator.credentials,
    ...(overrides.expiresIn === undefined ? {} : { expiresIn: overrides.expiresIn }),
  })
  return overrides.admin ? signer.getDbConnectAdminAuthToken() : signer.getDbConnectAuthToken()
}

/** node-postgres settings that dial the emulator over verified TLS, as an application would. */
export function clientConfig(emulator: Emulator, user: string, password: string): pg.ClientConfig {
  return {
    host: emulator.host,
    port: emulator.port,
    user,
    password,
    database: 'postgres',
    ssl: { ca: emulator.ca, servername: emulator.endpoint },
  }
}

/** Connects a node-postgres client through the emulator; the caller ends it. */
export async function connect(emulator: Emulator, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(emulator, user, password))
  await client.connect()
  return client
}

/** The error a connection attempt fails with; fails the test when it connects. */
export async function connectError(config: pg.ClientConfig): Promise<pg.DatabaseError> {
  const client = new pg.Client(config)
  try {
    await client.connect()
  } catch (error) {
    return error as pg.DatabaseError
  }
  await client.end()
  throw new Error('the connection was expected to be refused')
}

/** Connects, checks that the session answers, and disconnects. */
export async function expectConnects(emulator: Emulator, user: string, password: string): Promise<void> {
  const client = await connect(emulator, user, password)
  try {
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  } finally {
    await client.end()
  }
}

/** Waits until the upstream runs a query of `user` containing `text`: a cancel sent earlier would be lost. */
export async function waitForActiveQuery(emulator: Emulator, user: string, text: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const rows = await emulator.query(
        "SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND strpos(query, $2) > 0",
        [user, text],
      )
      expect(rows).toHaveLength(1)
    },
    { timeout: 15_000, interval: 50 },
  )
}
