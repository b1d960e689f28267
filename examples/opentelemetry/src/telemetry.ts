// The OpenTelemetry set-up of the example: the SDK with in-memory exporters, so that it runs without a
// collector, and the pg instrumentation. An application exports to its collector instead (an OTLP exporter in
// place of the in-memory ones); rds-iam's spans and metrics need nothing more than this registration.
import { context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

export interface Telemetry {
  /** Prints the spans as a tree and the rds-iam metrics, then shuts the SDK down. */
  report(): Promise<void>
}

/** Registers the SDK and patches pg; call it before pg is loaded. */
export function startTelemetry(): Telemetry {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  trace.setGlobalTracerProvider(tracerProvider)
  metrics.setGlobalMeterProvider(meterProvider)
  new PgInstrumentation()

  return {
    async report() {
      console.log('spans:')
      printTree(spans.getFinishedSpans())
      await reader.forceFlush()
      console.log('rds-iam metrics:')
      for (const scope of exporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) {
          if (!metric.descriptor.name.startsWith('rds_iam.')) continue
          for (const point of metric.dataPoints) {
            const value = typeof point.value === 'number' ? point.value : `${point.value.count} recorded`
            console.log(
              `  ${metric.descriptor.name} ${value} ${metric.descriptor.unit} ${labels(point.attributes)}`,
            )
          }
        }
      }
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
    },
  }
}

const shown = [
  'rds_iam.token.source',
  'rds_iam.credentials.source',
  'rds_iam.tls.mode',
  'rds_iam.sign_in.attempts',
]

function printTree(all: ReadableSpan[]): void {
  const children = (parent: string | undefined) =>
    all.filter((span) => span.parentSpanContext?.spanId === parent || (!parent && !span.parentSpanContext))
  const print = (span: ReadableSpan, depth: number): void => {
    const attributes = Object.fromEntries(
      shown.flatMap((key) => (key in span.attributes ? [[key, span.attributes[key]]] : [])),
    )
    console.log(`  ${'  '.repeat(depth)}${span.name} ${labels(attributes)}`.trimEnd())
    for (const child of children(span.spanContext().spanId)) print(child, depth + 1)
  }
  for (const root of children(undefined)) print(root, 0)
}

function labels(attributes: Record<string, unknown>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ')
}
