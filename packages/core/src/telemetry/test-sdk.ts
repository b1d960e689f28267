// For tests only (core's and the conformance suite's): the real OpenTelemetry SDK with in-memory exporters,
// registered globally as an application registers it.
import { context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

/** One data point of a metric, flattened for assertions. */
export interface MetricPoint {
  name: string
  unit: string
  attributes: Record<string, unknown>
  value: number
}

export interface TestSdk {
  spans(): ReadableSpan[]
  /** Every point of every metric since the last reset, sums for counters, counts for histograms. */
  metrics(): Promise<MetricPoint[]>
  reset(): Promise<void>
  shutdown(): Promise<void>
}

/** Registers a tracer provider, a meter provider and an AsyncLocalStorage context manager globally. */
export function registerTestSdk(): TestSdk {
  const spanExporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  trace.setGlobalTracerProvider(tracerProvider)
  let meters = registerMeters()
  return {
    spans: () => spanExporter.getFinishedSpans(),
    async metrics() {
      const { reader, exporter } = meters
      await reader.forceFlush()
      const points: MetricPoint[] = []
      // Cumulative: the last export holds every point so far.
      for (const scope of exporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints as Array<{ attributes: object; value: unknown }>) {
            const { value } = point
            points.push({
              name: metric.descriptor.name,
              unit: metric.descriptor.unit,
              attributes: { ...point.attributes },
              value: typeof value === 'number' ? value : (value as { count: number }).count,
            })
          }
        }
      }
      return points
    },
    async reset() {
      spanExporter.reset()
      // A new meter provider starts every counter at zero again; core picks it up at its next sign-in.
      metrics.disable()
      await meters.provider.shutdown()
      meters = registerMeters()
    },
    async shutdown() {
      trace.disable()
      metrics.disable()
      context.disable()
      await tracerProvider.shutdown()
      await meters.provider.shutdown()
    },
  }
}

function registerMeters(): {
  provider: MeterProvider
  reader: MetricReader
  exporter: InMemoryMetricExporter
} {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const provider = new MeterProvider({ readers: [reader] })
  metrics.setGlobalMeterProvider(provider)
  return { provider, reader, exporter }
}

/** The sum of a metric's points whose attributes include `attributes`. */
export function sumOf(points: MetricPoint[], name: string, attributes: Record<string, unknown> = {}): number {
  return points
    .filter(
      (point) =>
        point.name === name &&
        Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
    )
    .reduce((sum, point) => sum + point.value, 0)
}
