import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { classifyError, createClientClass, RdsIamError } from '@rds-iam/pg'
import pg from 'pg'
import { QueryTypes, Sequelize } from 'sequelize'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'

// What the README promises for Sequelize's dialectModule, through real Sequelize against the emulator.
describe('sequelize with the IAM Client as its dialectModule', () => {
  const denied = new Set<string>()
  const instances: Sequelize[] = []
  let emulator: Emulator

  beforeAll(async () => {
    emulator = await startEmulator({ upstream: inject('postgres'), policy: ({ user }) => !denied.has(user) })
  })
  afterEach(async () => {
    await Promise.all(instances.splice(0).map((sequelize) => sequelize.close()))
  })
  afterAll(async () => {
    await emulator?.close()
  })

  async function sequelizeFor(user: string): Promise<Sequelize> {
    await emulator.createIamUser(user)
    const Client = createClientClass(emulator.adapterOptions(user))
    const sequelize = new Sequelize({
      dialect: 'postgres',
      dialectModule: Object.create(pg, { Client: { value: Client } }),
      logging: false,
      pool: { max: 1 },
    })
    instances.push(sequelize)
    return sequelize
  }

  const currentUser = (sequelize: Sequelize) =>
    sequelize.query<{ who: string }>('select current_user as who', { type: QueryTypes.SELECT })

  it('keeps the retry: a rejected token is retried once with a new one', async () => {
    const sequelize = await sequelizeFor('sequelize_retry')
    const rejected = emulator.stats().rejected.forced ?? 0
    emulator.rejectNext(1)
    expect(await currentUser(sequelize)).toEqual([{ who: 'sequelize_retry' }])
    expect(emulator.stats().rejected.forced).toBe(rejected + 1)
  })

  it('a permanent rejection reaches the caller as a ConnectionError whose parent is the RdsIamError', async () => {
    const sequelize = await sequelizeFor('sequelize_denied')
    denied.add('sequelize_denied')
    const error = await currentUser(sequelize).then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(error).toMatchObject({ name: 'SequelizeConnectionError' })
    expect((error as { parent?: unknown }).parent).toBeInstanceOf(RdsIamError)
    expect(classifyError(error).kind).toBe('token-rejected')
  })

  it('a failover that drops an idle connection does not crash the process; the next query signs in again', async () => {
    const sequelize = await sequelizeFor('sequelize_failover')
    await currentUser(sequelize)
    const accepted = emulator.stats().accepted
    emulator.dropConnections()
    // Long enough for a closed loopback socket to reach the client on a loaded machine.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await currentUser(sequelize)).toEqual([{ who: 'sequelize_failover' }])
    expect(emulator.stats().accepted).toBe(accepted + 1)
  })
})
