import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect as dial } from 'node:net'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresServer, startPostgres } from './postgres-server.js'

const run = promisify(execFile)

async function query(config: pg.ClientConfig, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client(config)
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dial(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
  })
}

describe('startPostgres', () => {
  let server: PostgresServer
  let tcp: pg.ClientConfig

  beforeAll(async () => {
    server = await startPostgres()
    tcp = { ...server, ssl: { ca: server.ca, servername: 'localhost' } }
  })

  afterAll(() => server?.stop())

  it('serves TCP over verified TLS with the superuser password', async () => {
    const rows = await query(tcp, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    expect(rows).toEqual([{ ssl: true }])
    await expect(query({ ...tcp, password: 'wrong' }, 'SELECT 1')).rejects.toMatchObject({ code: '28P01' })
    await expect(query({ ...tcp, ssl: false }, 'SELECT 1')).rejects.toThrow(/no pg_hba.conf entry/)
  })

  it('trusts rds_iam members on its socket, and nobody else', async () => {
    await query(tcp, 'CREATE ROLE socket_iam LOGIN IN ROLE rds_iam; CREATE ROLE socket_plain LOGIN')
    const socket = { host: server.socketDir, port: server.port, database: 'postgres' }
    expect(await query({ ...socket, user: 'socket_iam' }, 'SELECT current_user AS u')).toEqual([
      { u: 'socket_iam' },
    ])
    await expect(query({ ...socket, user: 'socket_plain', password: 'x' }, 'SELECT 1')).rejects.toMatchObject(
      {
        code: '28P01',
      },
    )
  })

  it('trusts rds_iam members over TLS only with its client certificate', async () => {
    await query(tcp, 'CREATE ROLE tls_iam LOGIN IN ROLE rds_iam')
    const asIam = { ...tcp, user: 'tls_iam', password: 'not-needed' }
    await expect(query(asIam, 'SELECT 1')).rejects.toThrow('connection requires a valid client certificate')
    const ssl = { ca: server.ca, servername: 'localhost', ...server.clientCertificate }
    const withCertificate = { ...asIam, ssl }
    expect(
      await query(
        withCertificate,
        'SELECT current_user AS u, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      ),
    ).toEqual([{ u: 'tls_iam', ssl: true }])
  })

  it('stops, deletes its folder and frees its port', async () => {
    expect(existsSync(server.socketDir)).toBe(true)
    await server.stop()
    expect(existsSync(server.socketDir)).toBe(false)
    expect(await refusesConnections(server.port)).toBe(true)
  })

  it('cleans up after a failed start and says why', async () => {
    const failure = await startPostgres({ settings: { max_connections: 'many' } }).then(
      () => new Error('started'),
      (error: Error) => error,
    )
    expect(failure.message).toMatch(/PostgreSQL did not start[\s\S]*max_connections/)
    const dir = /-D (\S+)\/data/.exec(failure.message)?.[1]
    expect(dir).toMatch(/rds-iam-pg-/)
    expect(existsSync(dir!)).toBe(false)
  })

  it('stops the server and deletes its folder when the process exits without stop()', async () => {
    const entry = JSON.stringify(new URL('./postgres-server.ts', import.meta.url).href)
    const script = `const { startPostgres } = await import(${entry})
const server = await startPostgres()
console.log(JSON.stringify({ port: server.port, dir: server.socketDir }))
process.exit(0)`
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 60_000,
    })
    const { port, dir } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
    expect(existsSync(dir)).toBe(false)
    expect(await refusesConnections(port)).toBe(true)
  })
})
