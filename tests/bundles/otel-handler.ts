// A handler that registers the OpenTelemetry SDK, then connects through @rds-iam/pg: bundled, it shows whether
// the bundle holds the API that core loads, and that a bundle without it connects all the same.
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createPool } from '@rds-iam/pg'

const spans = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }))

const { host, port, user, database, tokenHost, ca } = JSON.parse(process.env.HANDLER_SETTINGS ?? '{}')
const pool = createPool({ host, port, user, database, ssl: { ca }, iam: { tokenHost } })
pool
  .query('select 1 as one')
  .then(({ rows }) => pool.end().then(() => rows))
  .then(
    (rows) => console.log(JSON.stringify({ rows, spans: spans.getFinishedSpans().map((span) => span.name) })),
    (error: Error) => console.log(JSON.stringify({ error: error.message })),
  )
