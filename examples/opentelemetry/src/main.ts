// node-postgres with IAM authentication, traced by OpenTelemetry: rds-iam's token span nests under
// instrumentation-pg's pg.connect span, and its metrics count tokens signed and served from the cache. Connection
// settings come from the libpq variables and credentials from the AWS default chain, as in the pg example.
import { readFileSync } from 'node:fs'
import { trace } from '@opentelemetry/api'
import { startTelemetry } from './telemetry'

const telemetry = startTelemetry()
// Loaded after the instrumentation is registered, so that pg is patched when it loads.
const { createPool } = await import('@rds-iam/pg')

const caFile = process.env.RDS_IAM_CA_FILE
const pool = createPool({
  // Only for the emulator or a private CA: RDS certificates are trusted without it.
  ssl: caFile ? { ca: readFileSync(caFile, 'utf8') } : undefined,
  // Only when PGHOST is a tunnel or an alias: the RDS endpoint the token is signed for.
  iam: { tokenHost: process.env.RDS_IAM_TOKEN_HOST },
  max: 2,
})

const tracer = trace.getTracer('example-opentelemetry')
try {
  await tracer.startActiveSpan('GET /report', async (request) => {
    try {
      const { rows } = await pool.query('select current_user as "user"')
      console.log(`connected as ${rows[0].user}`)
      // A second connection while the first is held: it signs in with the cached token.
      const [first, second] = await Promise.all([pool.connect(), pool.connect()])
      try {
        await second.query('begin')
        const { rows: sum } = await second.query('select $1::int + $2::int as total', [40, 2])
        await second.query('commit')
        console.log(`transaction result ${sum[0].total}`)
      } finally {
        first.release()
        second.release()
      }
    } finally {
      request.end()
    }
  })
} finally {
  await pool.end()
}
await telemetry.report()
