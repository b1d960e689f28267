import 'reflect-metadata'
import type { IamEvent } from '@rds-iam/core'
import { type Emulator, startEmulator } from '@rds-iam/emulator'
import { createDataSource, iamDataSourceOptions, RdsIamError } from '@rds-iam/typeorm'
import { DataSource } from 'typeorm'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
// The example's own entity and migration, so the test checks what the example ships.
import { CreateTypeormNotes1735689600000, NoteEntity } from '../examples/typeorm/src/notes'
import { expectIdleConnectionDropSurvived } from './src/orm-failover'

// What TypeORM users do besides pooled queries: migrations, entities, a URL, and a writer with readers.
describe('typeorm features through the emulator', () => {
  let writer: Emulator
  let reader: Emulator
  const dataSources: DataSource[] = []

  beforeAll(async () => {
    writer = await startEmulator({
      upstream: inject('postgres'),
      endpoint: 'orders.cluster-abc123def456.us-east-1.rds.amazonaws.com',
    })
    // Another endpoint, as a reader endpoint is, in front of the same database and accepting the same key.
    reader = await startEmulator({
      upstream: inject('postgres'),
      endpoint: 'orders.cluster-ro-abc123def456.us-east-1.rds.amazonaws.com',
      credentials: [writer.credentials],
    })
    await writer.createIamUser('typeorm_app')
    // Tables land in the user's own schema (first on PostgreSQL's default search_path), apart from other tests.
    await writer.query('create schema if not exists typeorm_app authorization typeorm_app')
  })
  afterEach(async () => {
    await Promise.all(dataSources.splice(0).map((dataSource) => dataSource.destroy()))
  })
  afterAll(async () => {
    await Promise.all([writer?.close(), reader?.close()])
  })

  async function initialize(dataSource: DataSource): Promise<DataSource> {
    await dataSource.initialize()
    dataSources.push(dataSource)
    return dataSource
  }

  it('runs migrations and entity CRUD', async () => {
    const { user, ...options } = writer.adapterOptions('typeorm_app')
    const dataSource = await initialize(
      createDataSource({
        type: 'postgres',
        ...options,
        username: user,
        entities: [NoteEntity],
        migrations: [CreateTypeormNotes1735689600000],
      }),
    )
    expect((await dataSource.runMigrations()).map((migration) => migration.name)).toEqual([
      'CreateTypeormNotes1735689600000',
    ])
    const notes = dataSource.getRepository(NoteEntity)
    const saved = await notes.save({ body: 'signed in with IAM' })
    await notes.update(saved.id, { body: 'updated with IAM' })
    expect(await notes.findOneBy({ id: saved.id })).toEqual({ id: saved.id, body: 'updated with IAM' })
    await notes.delete(saved.id)
    expect(await notes.count()).toBe(0)
  })

  it('a url works, and a password in it is not used', async () => {
    const { iam, ssl } = writer.adapterOptions('typeorm_app')
    const url = `postgres://typeorm_app:not-the-password@${writer.host}:${writer.port}/postgres`
    const dataSource = await initialize(createDataSource({ type: 'postgres', url, ssl, iam }))
    expect(await dataSource.query('select current_user as who')).toEqual([{ who: 'typeorm_app' }])
  })

  it('replication signs in to the writer and each reader for its own host', async () => {
    // A user of its own, so that both tokens are made here rather than found in the process-wide cache.
    await writer.createIamUser('typeorm_replica')
    const events: IamEvent[] = []
    // Each server signs for its own endpoint; region and keys are shared.
    const credentialsOf = (emulator: Emulator) => {
      const { user, iam, ...credentials } = emulator.adapterOptions('typeorm_replica')
      return { ...credentials, username: user, iam: { tokenHost: iam.tokenHost, tokenPort: emulator.port } }
    }
    const { region, credentials } = writer.adapterOptions('typeorm_replica').iam
    const accepted = { writer: writer.stats().accepted, reader: reader.stats().accepted }
    const dataSource = await initialize(
      createDataSource({
        type: 'postgres',
        iam: { region, credentials, onEvent: (event) => events.push(event) },
        replication: { master: credentialsOf(writer), slaves: [credentialsOf(reader)] },
      }),
    )
    const onWriter = dataSource.createQueryRunner('master')
    const onReader = dataSource.createQueryRunner('slave')
    try {
      expect(await onWriter.query('select current_user as who')).toEqual([{ who: 'typeorm_replica' }])
      expect(await onReader.query('select current_user as who')).toEqual([{ who: 'typeorm_replica' }])
    } finally {
      await Promise.all([onWriter.release(), onReader.release()])
    }
    expect(writer.stats().accepted).toBeGreaterThan(accepted.writer)
    expect(reader.stats().accepted).toBeGreaterThan(accepted.reader)
    const signedFor = events.flatMap((event) =>
      event.type === 'token-generated' ? [event.key.tokenHost] : [],
    )
    expect(new Set(signedFor)).toEqual(new Set([writer.endpoint, reader.endpoint]))
  })

  it('credentials changed after iamDataSourceOptions fail as a config error instead of signing in without IAM', async () => {
    const { user, ...options } = writer.adapterOptions('typeorm_app')
    const iamOptions = iamDataSourceOptions({ type: 'postgres', ...options, username: user })
    const dataSource = new DataSource({ ...iamOptions, password: 'a-plain-password' })
    const error = await dataSource.initialize().then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(error).toBeInstanceOf(RdsIamError)
    expect(error).toMatchObject({ code: 'config' })
    expect(dataSource.isInitialized).toBe(false)
  })

  it('a failover that drops an idle connection does not crash the process; the next query signs in again', async () => {
    await writer.createIamUser('typeorm_failover')
    const { user, ...options } = writer.adapterOptions('typeorm_failover')
    const dataSource = await initialize(
      createDataSource({ type: 'postgres', ...options, username: user, poolSize: 1 }),
    )
    await expectIdleConnectionDropSurvived(writer, () => dataSource.query('select 1'))
  })
})
