import { classifyError } from '@rds-iam/core'
import {
  type PostgresConnectionInfo,
  type PostgresServer,
  startEmulator,
  startPostgres,
} from '@rds-iam/emulator'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

// Core never connects without TLS, so the emulator's refusals are reached with plain node-postgres here, and core
// must read each of them as a TLS problem, not a rejected token.
const user = `no_tls_${Math.random().toString(36).slice(2, 10)}`

async function refusalWithoutTls(options: {
  upstream: PostgresConnectionInfo
  direct?: boolean
  forceSsl?: boolean
}): Promise<Error> {
  const emulator = await startEmulator(options)
  try {
    await emulator.createIamUser(user)
    const client = new pg.Client({
      host: emulator.host,
      port: emulator.port,
      user,
      password: 'x',
      ssl: false,
    })
    return await client.connect().then(
      () => {
        throw new Error('connected without TLS')
      },
      (error: Error) => error,
    )
  } finally {
    await emulator.close()
  }
}

describe('the refusal of a connection without TLS, as core classifies it', () => {
  let own: PostgresServer
  beforeAll(async () => {
    own = await startPostgres()
  })
  afterAll(() => own?.stop())

  it.each([
    [
      'the relay (forceSsl, the default)',
      () => ({ upstream: inject('postgres') }),
      /^no pg_hba\.conf entry /,
    ],
    ['a direct emulator', () => ({ upstream: own, direct: true }), /^no pg_hba\.conf entry /],
    [
      'the relay with forceSsl: false',
      () => ({ upstream: inject('postgres'), forceSsl: false }),
      /^pg_hba\.conf rejects connection /,
    ],
  ])('through %s: tls-required, not retried', async (_, options, text) => {
    const error = await refusalWithoutTls(options())
    expect(error.message).toMatch(text)
    expect(classifyError(error)).toMatchObject({ kind: 'tls-required', retryable: false })
  })
})
