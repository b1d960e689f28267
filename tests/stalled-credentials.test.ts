import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type IamOptions, isRdsIamError, type RdsIamError } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { ConformanceTarget, TargetConfig, TargetPool } from './src/conformance-target'
import 'reflect-metadata'
import { createClient } from '@rds-iam/pg'
import { createDataSource } from '@rds-iam/typeorm'
import { knexTarget } from './src/orm-knex-target'
import { type GeneratedClient, generatePrismaClient } from './src/orm-prisma-client'
import { prismaClientTarget } from './src/orm-prisma-target'
import { typeormTarget } from './src/orm-typeorm-target'
import { pgClientTarget, pgPoolTarget } from './src/pg-targets'
import { postgresTarget } from './src/postgres-target'

// Credentials that do not come, through every adapter: a provider function that never settles, and a real
// credential_process in a real shared config profile that sleeps. The connect must fail within
// iam.credentialsTimeoutMs as a `credentials` RdsIamError naming the source, end() must not wait for the source,
// and an answer that comes after the connect gave up must serve the next connect.
const BOUND_MS = 1_000
// What a loaded two-core machine adds to a bound: TLS, the SDK's chain loading, a child process starting.
const SLACK_MS = 2_500
// end() while a connect waits: far below any credential bound used here.
const PROMPT_MS = 1_500
const PROCESS_SLEEP_S = 4

let generated: GeneratedClient
const targets: ConformanceTarget[] = [
  pgPoolTarget('pg'),
  pgClientTarget('pg_client'),
  postgresTarget('postgres'),
  knexTarget('knex'),
  typeormTarget('typeorm'),
  prismaClientTarget('prisma', () => generated.PrismaClient),
]

let emulator: Emulator
let awsDir: string
const pools: TargetPool[] = []

beforeAll(async () => {
  generated = await generatePrismaClient('newest')
  emulator = await startEmulator({ upstream: inject('postgres') })
  awsDir = await mkdtemp(join(tmpdir(), 'rds-iam-stalled-'))
  // Only the profiles written below may answer: no keys from the environment, no instance metadata service.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    vi.stubEnv(name, '')
  }
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
  vi.stubEnv('AWS_CONFIG_FILE', join(awsDir, 'config'))
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(awsDir, 'credentials'))
  await writeFile(join(awsDir, 'credentials'), '')
  // All profiles are written before any is read: the SDK reads the shared files once and keeps them.
  await writeSleepingProfiles(targets.flatMap((target) => [`slow_${target.name}`, `slow_end_${target.name}`]))
}, 90_000)
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
})
afterAll(async () => {
  vi.unstubAllEnvs()
  await emulator?.close()
  await generated?.dispose()
  if (awsDir) await rm(awsDir, { recursive: true, force: true })
})

const never = (): Promise<never> => new Promise(() => {})

// A pool of `target` for a new IAM user of its own, whose credentials come from `iam` alone.
async function open(target: ConformanceTarget, label: string, iam: IamOptions): Promise<TargetPool> {
  const user = `stall_${target.name}_${label}`.toLowerCase()
  await emulator.createIamUser(user)
  const base = emulator.adapterOptions(user)
  const { credentials: _credentials, ...iamBase } = base.iam
  const config: TargetConfig = { ...base, max: 2, iam: { ...iamBase, ...iam } }
  const pool = target.createPool(config)
  pools.push(pool)
  return pool
}

// Ends `pool` now rather than after the test, and says how long that took.
async function timedEnd(pool: TargetPool): Promise<number> {
  pools.splice(pools.indexOf(pool), 1)
  const started = performance.now()
  await pool.end()
  return performance.now() - started
}

// Settles with the failure and how long it took from now.
async function timedFailure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now()
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  )
  return { error, ms: performance.now() - started }
}

function expectCredentialsError(error: unknown, names: string): void {
  expect(isRdsIamError(error), String(error)).toBe(true)
  expect(error).toMatchObject({ code: 'credentials' })
  expect((error as RdsIamError).message).toContain(names)
  expect((error as RdsIamError).hint.length).toBeGreaterThan(20)
}

// Profiles whose credential_process sleeps, then prints the emulator's keys as the process protocol says.
async function writeSleepingProfiles(names: string[]): Promise<void> {
  const script = join(awsDir, 'sleeping-process.sh')
  const { accessKeyId, secretAccessKey } = emulator.credentials
  const json = JSON.stringify({ Version: 1, AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey })
  await writeFile(script, `#!/bin/sh\nsleep ${PROCESS_SLEEP_S}\necho '${json}'\n`)
  await chmod(script, 0o755)
  const profiles = names.map(
    (name) => `[profile ${name}]\nregion = us-east-1\ncredential_process = ${script}\n`,
  )
  await writeFile(join(awsDir, 'config'), profiles.join(''))
}

// A query that waited when its pool ended fails: with a `credentials` RdsIamError, or with the driver's own error
// for a pool that was destroyed (knex's "aborted"); the harness's pg Client target ends only open clients, whose
// query then fails when the bound runs out.
function expectEndedQuery({ error }: { error: unknown }): void {
  expect(error).toBeInstanceOf(Error)
  if (isRdsIamError(error)) expect(error.code).toBe('credentials')
}

describe.each(targets)('$name: credentials that never come', (target) => {
  it('a provider that never answers fails the connect within iam.credentialsTimeoutMs, naming it', async () => {
    const pool = await open(target, 'never', { credentials: never, credentialsTimeoutMs: BOUND_MS })
    const { error, ms } = await timedFailure(pool.query('select 1'))
    expectCredentialsError(error, 'the `credentials` provider (iam.credentials)')
    expect((error as RdsIamError).message).toContain(`within ${BOUND_MS} ms`)
    expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 50)
    expect(ms).toBeLessThan(BOUND_MS + SLACK_MS)
  })

  it('bounds the wait by default, with no connect timeout and no credentialsTimeoutMs', async () => {
    const pool = await open(target, 'default', { credentials: never })
    const { error, ms } = await timedFailure(pool.query('select 1'))
    expectCredentialsError(error, 'within 5000 ms (iam.credentialsTimeoutMs)')
    expect(ms).toBeLessThan(5_000 + SLACK_MS)
  })

  // The harness's pg Client target ends only the clients that opened and its TypeORM target only an initialized
  // DataSource: their own tests below end a connect that waits.
  const itEndReachesConnect = ['pg_client', 'typeorm'].includes(target.name) ? undefined : it

  itEndReachesConnect?.('ends promptly while a connect waits for a provider that never answers', async () => {
    const pool = await open(target, 'end', { credentials: never, credentialsTimeoutMs: 6_000 })
    const query = timedFailure(pool.query('select 1'))
    // By then the connect has dialed and is waiting for the token.
    await sleep(500)
    expect(await timedEnd(pool)).toBeLessThan(PROMPT_MS)
    expectEndedQuery(await query)
  })

  it("a profile's credential_process that sleeps fails the connect within the bound, naming the process; its late answer serves the next connect", async () => {
    const profile = `slow_${target.name}`
    const pool = await open(target, 'process', { profile, credentialsTimeoutMs: BOUND_MS })
    const started = performance.now()
    const { error, ms } = await timedFailure(pool.query('select 1'))
    expectCredentialsError(
      error,
      `the credential_process of profile "${profile}" (from the \`profile\` option)`,
    )
    expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 50)
    expect(ms).toBeLessThan(BOUND_MS + SLACK_MS)
    // The process answers some 4 s after it started; the connect after that signs with its keys, without waiting.
    await sleep(Math.max(0, PROCESS_SLEEP_S * 1_000 + 1_000 - (performance.now() - started)))
    const connectStarted = performance.now()
    expect(await pool.query('select 1 as one')).toEqual([{ one: 1 }])
    expect(performance.now() - connectStarted).toBeLessThan(BOUND_MS)
  })

  itEndReachesConnect?.('ends promptly while a connect waits for a sleeping credential_process', async () => {
    const profile = `slow_end_${target.name}`
    const pool = await open(target, 'process_end', { profile, credentialsTimeoutMs: 6_000 })
    const query = timedFailure(pool.query('select 1'))
    await sleep(500)
    expect(await timedEnd(pool)).toBeLessThan(PROMPT_MS)
    expectEndedQuery(await query)
  })
})

describe('ending what waits for credentials that never come', () => {
  it('pg Client: end() returns promptly while connect() waits, and connect() fails as credentials', async () => {
    await emulator.createIamUser('stall_client_end')
    const base = emulator.adapterOptions('stall_client_end')
    const client = createClient({
      ...base,
      iam: { ...base.iam, credentials: never, credentialsTimeoutMs: 20_000 },
    })
    client.on('error', () => {})
    const connecting = timedFailure(client.connect())
    await sleep(500)
    const started = performance.now()
    await client.end()
    expect(performance.now() - started).toBeLessThan(PROMPT_MS)
    const { error, ms } = await connecting
    expectCredentialsError(error, 'the `credentials` provider (iam.credentials)')
    expect(ms).toBeLessThan(500 + PROMPT_MS)
  })

  it("TypeORM: destroy() returns promptly while a replica's pool waits for its credentials", async () => {
    await emulator.createIamUser('stall_typeorm_replica')
    const { host, port, user, database, ssl, iam } = emulator.adapterOptions('stall_typeorm_replica')
    const server = { host, port, username: user, database }
    // The replica's credentials expire, by a clock the test moves, and its provider then stops answering.
    let skewMs = 0
    let hung = false
    const clock = { now: () => Date.now() + skewMs }
    const replicaCredentials = async () =>
      hung ? never() : { ...emulator.credentials, expiration: new Date(clock.now() + 20 * 60_000) }
    const dataSource = createDataSource({
      type: 'postgres',
      ssl,
      iam,
      replication: {
        master: server,
        slaves: [
          { ...server, iam: { credentials: replicaCredentials, clock, credentialsTimeoutMs: 20_000 } },
        ],
      },
    })
    await dataSource.initialize()
    // Holds the replica's one connection, so that the next query opens another.
    const holding = dataSource.createQueryRunner('slave')
    await holding.query('select 1')
    hung = true
    skewMs = 30 * 60_000
    const query = timedFailure(dataSource.createQueryRunner('slave').query('select 1'))
    await sleep(500)
    const started = performance.now()
    await dataSource.destroy()
    expect(performance.now() - started).toBeLessThan(PROMPT_MS)
    const { error, ms } = await query
    expect(ms).toBeLessThan(500 + PROMPT_MS)
    expect(JSON.stringify(error)).toContain('credentials')
  })
})
