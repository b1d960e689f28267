import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { bunRuntime, denoRuntime, type Runtime } from '@rds-iam/runtimes'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { ProgramAdapter, ProgramAttempt, ProgramOutput } from './runtimes/program-io'
import { startImpostor } from './src/impostor'
import { createRevokedCertificate } from './src/revoked-certificate'

const execute = promisify(execFile)
const program = fileURLToPath(new URL('./runtimes/adapter-program.ts', import.meta.url))
const testsDir = fileURLToPath(new URL('.', import.meta.url))

interface RuntimeRun {
  runtime: Runtime
  /** How the runtime runs a TypeScript file. */
  args: string[]
  /** Whether its node:tls applies `crl`; where it does not, the adapters refuse `ssl.crl` at creation. */
  appliesCrl: boolean
  /** How core names the runtime in that refusal. */
  title: string
}

const runs: RuntimeRun[] = [
  // The Node of the run, as the baseline the other runtimes are held to.
  {
    runtime: { name: 'node', version: process.versions.node, command: process.execPath },
    args: ['--import', 'tsx', program],
    appliesCrl: true,
    title: 'Node',
  },
  { runtime: bunRuntime(), args: ['run', program], appliesCrl: true, title: 'Bun' },
  // Deno's permissions: the sockets, the environment (RDS_IAM_PROGRAM and the PG*/AWS_* lookups), reading the
  // installed packages, and the system facts that node:os gives.
  {
    runtime: denoRuntime(),
    args: ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-sys', program],
    appliesCrl: false,
    title: 'Deno',
  },
]
const adapters: ProgramAdapter[] = ['pg-pool', 'pg-client', 'postgres']

// Each program runs @rds-iam/pg and @rds-iam/postgres as built, from their package.json exports, through the
// real driver, against the emulator in front of the run's PostgreSQL.
describe.each(runs)('$runtime.name $runtime.version', ({ runtime, args, appliesCrl, title }) => {
  let emulator: Emulator

  beforeAll(async () => {
    emulator = await startEmulator({ upstream: inject('postgres') })
  })
  afterAll(async () => {
    await emulator?.close()
  })

  async function runProgram(
    adapter: ProgramAdapter,
    user: string,
    attempts: ProgramAttempt[],
  ): Promise<ProgramOutput> {
    await emulator.createIamUser(user)
    const input = { runtime: runtime.name, adapter, options: emulator.adapterOptions(user), attempts }
    // Fails with the program's output when it exits non-zero.
    const { stdout, stderr } = await execute(runtime.command, args, {
      cwd: testsDir,
      // Only what the program needs: no AWS_* or PG* of the machine.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, RDS_IAM_PROGRAM: JSON.stringify(input) },
      timeout: 20_000,
    })
    expect(stderr).toBe('')
    return JSON.parse(stdout) as ProgramOutput
  }

  describe.each(adapters)('%s', (adapter) => {
    const user = (label: string): string => `rt_${runtime.name}_${adapter.replace('-', '_')}_${label}`

    it('connects through the emulator with an IAM token over verified TLS', async () => {
      const accepted = emulator.stats().accepted
      const output = await runProgram(adapter, user('connect'), [{}])
      expect(output).toMatchObject({ runtime: runtime.name, users: [user('connect')], failures: [] })
      expect(output.events).toContain('token-generated')
      expect(emulator.stats().accepted).toBe(accepted + 1)
    })

    it('retries a rejected token once with a fresh one', async () => {
      emulator.rejectNext(1)
      const output = await runProgram(adapter, user('retry'), [{}])
      expect(output).toMatchObject({ users: [user('retry')], failures: [] })
      expect(output.events.filter((type) => type === 'auth-retry')).toHaveLength(1)
      expect(output.events.filter((type) => type === 'token-generated')).toHaveLength(2)
    })

    it('refuses an impostor with a foreign CA, and one with a trusted CA and the wrong name', async () => {
      const foreignCa = await startImpostor([emulator.endpoint, '127.0.0.1'])
      // The dialed address is in this certificate, the token host is not: only a check against the token host
      // refuses it.
      const wrongName = await startImpostor(['impostor.example.com', '127.0.0.1'])
      try {
        const tokenPort = emulator.port
        const output = await runProgram(adapter, user('impostor'), [
          { port: foreignCa.port, iam: { tokenPort } },
          { port: wrongName.port, ssl: { ca: wrongName.ca }, iam: { tokenPort } },
        ])
        expect(output.users).toEqual([])
        expect(output.failures).toEqual([
          expect.objectContaining({
            name: 'RdsIamError',
            code: 'config',
            message: expect.stringMatching(/The server certificate did not verify/),
          }),
          expect.objectContaining({
            name: 'RdsIamError',
            message: expect.stringMatching(/not in the cert's altnames/),
          }),
        ])
        expect([foreignCa.connections(), wrongName.connections()]).toEqual([1, 1])
        expect([foreignCa.bytesAfterHandshake(), wrongName.bytesAfterHandshake()]).toEqual([0, 0])
      } finally {
        await Promise.all([foreignCa.close(), wrongName.close()])
      }
    })

    it(
      appliesCrl
        ? 'refuses a certificate that ssl.crl revokes'
        : 'refuses ssl.crl at creation, naming the runtime, since it would not be applied',
      async () => {
        const revoked = await createRevokedCertificate([emulator.endpoint, '127.0.0.1'])
        const impostor = await startImpostor([], revoked)
        try {
          const output = await runProgram(adapter, user('crl'), [
            {
              port: impostor.port,
              ssl: { ca: revoked.ca, crl: revoked.crl },
              iam: { tokenPort: emulator.port },
            },
          ])
          expect(output.users).toEqual([])
          if (appliesCrl) {
            expect(output.failures).toEqual([
              expect.objectContaining({
                name: 'RdsIamError',
                message: expect.stringMatching(/certificate revoked/),
              }),
            ])
            expect(impostor.connections()).toBe(1)
          } else {
            expect(output.failures).toEqual([
              {
                name: 'RdsIamError',
                code: 'config',
                message: expect.stringContaining(`${title} ${runtime.version} does not apply \`ssl.crl\``),
              },
            ])
            expect(impostor.connections()).toBe(0)
          }
          expect(impostor.bytesAfterHandshake()).toBe(0)
        } finally {
          await impostor.close()
        }
      },
    )
  })
})
