// The README's first command: a throwaway PostgreSQL, the RDS IAM emulator in front of it, and each adapter
// signing in with a real IAM token over verified TLS, printed step by step.
import type { TLSSocket } from 'node:tls'
import type { IamEvent } from '@rds-iam/core'
import { type Emulator, type EmulatorEvent, startEmulator, startPostgres } from '@rds-iam/emulator'
import { createPool, type IamDriverOptions, RdsIamError } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import { exampleRunner, listExamples } from './run-example'

const DEMO_USER = 'demo_user'

function step(label: string, text: string): void {
  console.log(`   ${label.padEnd(15)} ${text}`)
}

// Every connection asks for a token; the first cache hit of a section is worth a line, the rest are noise.
let reuseShown = false

function section(title: string): void {
  console.log(`\n── ${title}`)
  reuseShown = false
}

function describeAdapterEvent(event: IamEvent): void {
  if (event.type === 'token-reused' && !reuseShown) {
    reuseShown = true
    step(
      'token reused',
      `from the process-wide cache, valid until ${event.expiresAt.toISOString().slice(11, 19)} UTC`,
    )
  } else if (event.type === 'token-generated') {
    const { user, tokenHost, tokenPort, region, accessKeyId } = event.key
    const until = event.expiresAt.toISOString().slice(11, 19)
    step(
      'token signed',
      `for ${user}@${tokenHost}:${tokenPort} in ${region} with ${accessKeyId}, valid until ${until} UTC (${event.durationMs} ms)`,
    )
  } else if (event.type === 'auth-retry') {
    step('retry', `${event.kind}: ${event.hint}`)
  } else if (event.type === 'tls-insecure') {
    step('TLS warning', event.reason)
  }
}

function describeEmulatorEvent(event: EmulatorEvent): void {
  if (event.type === 'auth-accepted')
    step('authenticated', `the emulator verified the token's signature, expiry and user ${event.user}`)
  if (event.type === 'auth-rejected') step('rejected', `the emulator refused ${event.user}: ${event.reason}`)
}

interface ConnectionTarget {
  host: string
  port: number
  user: string
  database: string
}

// Every adapter takes the same options: dial the emulator, sign for its RDS name, trust its CA.
function connectionFor(emulator: Emulator, user: string): IamDriverOptions & ConnectionTarget {
  const options = emulator.adapterOptions(user)
  return { ...options, iam: { ...options.iam, onEvent: describeAdapterEvent } }
}

async function demoPg(emulator: Emulator): Promise<void> {
  section('node-postgres (@rds-iam/pg)')
  const pool = createPool(connectionFor(emulator, DEMO_USER))
  try {
    const client = await pool.connect()
    // pg keeps the TLS socket of a connection on `connection.stream`; the demo reads it only to show what was checked.
    const socket = (client as unknown as { connection: { stream: TLSSocket } }).connection.stream
    const certificate = socket.getPeerCertificate()
    step(
      'TLS verified',
      `${socket.getProtocol()}, certificate for ${certificate.subject.CN} issued by "${certificate.issuer.CN}", authorized=${socket.authorized}`,
    )
    const { rows } = await client.query('select current_user as "user", version() as version')
    step('query', `current_user=${rows[0].user}; ${String(rows[0].version).split(' on ')[0]}`)
    client.release()
    await Promise.all(Array.from({ length: 3 }, () => pool.query('select pg_sleep(0.05)')))
    step('reuse', `${pool.totalCount} pooled connections, signed in with the one cached token`)
  } finally {
    await pool.end()
  }
}

async function demoPostgresJs(emulator: Emulator): Promise<void> {
  section('postgres.js (@rds-iam/postgres)')
  const sql = createSql(connectionFor(emulator, DEMO_USER))
  try {
    // The emulator refuses the first sign-in, as RDS does with a token it no longer accepts.
    emulator.rejectNext(1)
    const [row] = await sql`select current_user as "user", now()::text as at`
    step('TLS verified', 'verify-full: the chain to the emulator CA and the endpoint name')
    step('query', `current_user=${row?.user} at ${row?.at}`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

// The ORMs and query builders, each as its example in examples/ runs it: a process configured only by the libpq
// variables and the AWS default credential chain, as an application on RDS would be.
async function demoExamples(emulator: Emulator): Promise<void> {
  const runner = await exampleRunner(emulator, DEMO_USER)
  try {
    for (const example of listExamples()) {
      section(`${example} (examples/${example})`)
      const accepted = emulator.stats().accepted
      for (const line of (await runner.run(example)).stdout.trim().split('\n')) step('output', line)
      step('signed in', `${emulator.stats().accepted - accepted} IAM connections accepted by the emulator`)
    }
  } finally {
    await runner.dispose()
  }
}

async function demoFailures(emulator: Emulator): Promise<void> {
  section('what failures look like')
  await emulator.createPasswordUser('plain_user', 'not-an-iam-user')
  const attempts: Array<[string, () => Promise<unknown>]> = [
    // `false` is not in the types; JavaScript callers and driver configs pass it anyway.
    [
      'ssl: false',
      async () => createPool({ host: emulator.host, user: DEMO_USER, ssl: false as unknown as true }),
    ],
    ['no rds_iam', () => createPool(connectionFor(emulator, 'plain_user')).query('select 1')],
  ]
  for (const [label, attempt] of attempts) {
    const error = await attempt().then(
      () => undefined,
      (failure: unknown) => failure,
    )
    if (!(error instanceof RdsIamError))
      throw new Error(`expected an RdsIamError for ${label}`, { cause: error })
    step(label, `RdsIamError ${error.code}: ${error.hint}`)
  }
}

console.log('rds-iam demo: IAM database authentication against a local RDS emulator\n')
const postgres = await startPostgres()
step('PostgreSQL', `throwaway cluster on ${postgres.host}:${postgres.port}`)
const emulator = await startEmulator({ upstream: postgres, onEvent: describeEmulatorEvent })
try {
  step('emulator', `${emulator.endpoint}:${emulator.port} (region ${emulator.region}) on ${emulator.host}`)
  await emulator.createIamUser(DEMO_USER)
  step('IAM user', `${DEMO_USER}, granted rds_iam`)
  await demoPg(emulator)
  await demoPostgresJs(emulator)
  await demoExamples(emulator)
  await demoFailures(emulator)
  const stats = emulator.stats()
  console.log(
    `\nDone: ${stats.accepted} IAM sign-ins accepted, ${Object.values(stats.rejected).reduce((a, b) => a + (b ?? 0), 0)} rejected.`,
  )
} finally {
  await emulator.close()
  await postgres.stop()
}
