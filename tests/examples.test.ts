import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type ExampleRunner, exampleRunner, listExamples } from '../examples/demo/src/run-example'

// Each example runs as its own process on the built packages, configured only through the environment a user
// would set: the libpq variables and the AWS default credential chain. Against Aurora DSQL only the endpoint the
// token is signed for changes (RDS_IAM_TOKEN_HOST, as PGHOST would name it without the emulator), so every example,
// Kysely, Drizzle and Sequelize included, shows the one-line change.
describe.each(['rds', 'dsql'] as const)('examples run against the emulator as %s', (target) => {
  let emulator: Emulator
  let runner: ExampleRunner

  beforeAll(async () => {
    emulator = await startEmulator({ upstream: inject('postgres'), target })
    await emulator.createIamUser('example_user')
    runner = await exampleRunner(emulator, 'example_user')
  })
  afterAll(async () => {
    await runner?.dispose()
    await emulator?.close()
  })

  const examples = listExamples()

  it('finds the examples', () => {
    expect(examples).toEqual(expect.arrayContaining(['pg', 'postgres-js', 'knex', 'typeorm', 'prisma']))
  })

  for (const example of examples) {
    // On every Node of the matrix: a deprecation or experimental warning would reach every user of the example.
    it(`${example} connects with IAM and runs a transaction, with nothing on stderr`, async () => {
      const accepted = emulator.stats().accepted
      const { stdout, stderr } = await runner.run(example)
      expect(stderr).toBe('')
      expect(stdout).toContain('connected as example_user')
      expect(stdout).toContain('transaction result 42')
      expect(emulator.stats().accepted).toBeGreaterThan(accepted)
      expect(stdout).not.toContain('X-Amz-Signature')
    })
  }

  it('opentelemetry shows the token span under pg.connect under the sign-in under pg-pool.connect', async () => {
    const { stdout, stderr } = await runner.run('opentelemetry')
    expect(stderr).toBe('')
    expect(stdout).toMatch(
      /\n( *)pg-pool\.connect\n\1 {2}rds_iam\.sign_in .*\n\1 {4}pg\.connect\n\1 {6}rds_iam\.token rds_iam\.token\.source=signed/,
    )
    expect(stdout).toMatch(/rds_iam\.token\.signed 1 \{token\}/)
    expect(stdout).toMatch(/rds_iam\.token\.cache_hits 1 \{token\}/)
    expect(stdout).toMatch(/rds_iam\.sign_in\.duration 2 recorded s/)
  })
})
