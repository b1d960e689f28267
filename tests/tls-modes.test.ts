import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPool } from '@rds-iam/pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Impostor, startImpostor } from './src/impostor'

// A server whose certificate chains to a CA the client trusts but names another host: what verify-ca lets
// through and verify-full refuses. The impostor never answers, so a client it lets through times out.
describe('sslmode in a connection string, against a certificate for another name', () => {
  const tokenHost = 'db.cluster-abc123def456.us-east-1.rds.amazonaws.com'
  let impostor: Impostor
  let workDir: string
  let caFile: string

  beforeAll(async () => {
    impostor = await startImpostor(['elsewhere.example.com'])
    workDir = await mkdtemp(join(tmpdir(), 'rds-iam-tls-'))
    caFile = join(workDir, 'ca.pem')
    await writeFile(caFile, impostor.ca)
  })
  afterAll(async () => {
    await impostor?.close()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  async function connectWith(sslmode: string): Promise<{ error: unknown; bytesSent: number }> {
    const before = impostor.bytesAfterHandshake()
    const pool = createPool({
      connectionString: `postgres://app@127.0.0.1:${impostor.port}/app?sslmode=${sslmode}&sslrootcert=${encodeURIComponent(caFile)}`,
      connectionTimeoutMillis: 1_000,
      iam: {
        tokenHost,
        tokenPort: 5432,
        // A timeout during sign-in counts as throttling; one attempt is enough to show how far TLS let it get.
        retry: { maxThrottleMs: 1 },
        credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'not-a-real-secret-key' },
      },
    })
    try {
      const error = await pool.query('select 1').then(
        () => undefined,
        (failure: unknown) => failure,
      )
      return { error, bytesSent: impostor.bytesAfterHandshake() - before }
    } finally {
      await pool.end()
    }
  }

  it('verify-full refuses it before sending a byte', async () => {
    const { error, bytesSent } = await connectWith('verify-full')
    expect(String((error as Error)?.message)).toMatch(/Hostname\/IP does not match|altnames/i)
    expect(bytesSent).toBe(0)
  })

  it('verify-ca checks the chain only, so the startup reaches the server', async () => {
    const { error, bytesSent } = await connectWith('verify-ca')
    expect(error).toBeInstanceOf(Error)
    expect(bytesSent).toBeGreaterThan(0)
  })

  it('require with an sslrootcert behaves as verify-ca, as in libpq', async () => {
    const { bytesSent } = await connectWith('require')
    expect(bytesSent).toBeGreaterThan(0)
  })
})
