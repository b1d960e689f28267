import type { Counter, Histogram, Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api'
import type { Otel } from './otel-api'

/** rds-iam's metrics. Units follow OpenTelemetry's conventions: seconds for durations, `{noun}` for counts. */
export interface Instruments {
  tokensSigned: Counter
  cacheHits: Counter
  tokenDuration: Histogram
  signInDuration: Histogram
  retries: Counter
  throttled: Counter
  credentialFailures: Counter
}

/** What is recording now: a tracer when a tracer provider is registered, instruments when a meter provider is. */
export interface Signals {
  otel: Otel
  tracer: Tracer | undefined
  instruments: Instruments | undefined
}

const SCOPE = '@rds-iam/core'

// The buckets of db.client.operation.duration: a sign-in is a database operation's worth of time.
const SIGN_IN_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]
// A cache hit takes microseconds, a signature a millisecond or two, a credential provider up to seconds.
const TOKEN_BUCKETS = [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

// Each is kept for the provider it came from: an SDK registered (or replaced) later is picked up at the next
// sign-in, while with none registered a check is two lookups and two comparisons, with nothing allocated.
let tracerFor: { provider: TracerProvider; tracer: Tracer | undefined } | undefined
let instrumentsFor: { provider: MeterProvider; instruments: Instruments | undefined } | undefined
let noopTracerProvider: TracerProvider | undefined

/** The signals that record now, or undefined when neither a tracer nor a meter provider is registered. */
export function activeSignals(otel: Otel): Signals | undefined {
  const tracer = activeTracer(otel)
  const instruments = activeInstruments(otel)
  return tracer || instruments ? { otel, tracer, instruments } : undefined
}

function activeTracer(otel: Otel): Tracer | undefined {
  const global = otel.trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider }
  const provider = global.getDelegate ? global.getDelegate() : global
  if (tracerFor?.provider === provider) return tracerFor.tracer
  // A fresh ProxyTracerProvider's delegate is the API's own no-op provider: public API, no internals.
  noopTracerProvider ??= new otel.ProxyTracerProvider().getDelegate()
  tracerFor = { provider, tracer: provider === noopTracerProvider ? undefined : provider.getTracer(SCOPE) }
  return tracerFor.tracer
}

/** The instruments when a meter provider is registered. */
export function activeInstruments(otel: Otel): Instruments | undefined {
  const provider = otel.metrics.getMeterProvider()
  if (instrumentsFor?.provider === provider) return instrumentsFor.instruments
  const meter = provider.getMeter(SCOPE)
  instrumentsFor = {
    provider,
    instruments: meter === otel.createNoopMeter() ? undefined : createInstruments(meter),
  }
  return instrumentsFor.instruments
}

function createInstruments(meter: Meter): Instruments {
  const counter = (name: string, unit: string, description: string): Counter =>
    meter.createCounter(name, { description, unit })
  const seconds = (name: string, buckets: number[], description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: buckets } })
  return {
    tokensSigned: counter(
      'rds_iam.token.signed',
      '{token}',
      'IAM tokens signed, in the background ahead of expiry or while a connect waited.',
    ),
    cacheHits: counter(
      'rds_iam.token.cache_hits',
      '{token}',
      'Connections that signed in with a cached token.',
    ),
    tokenDuration: seconds(
      'rds_iam.token.duration',
      TOKEN_BUCKETS,
      'Time to hand a connection its token: a cache hit, or credentials and a signature.',
    ),
    signInDuration: seconds(
      'rds_iam.sign_in.duration',
      SIGN_IN_BUCKETS,
      'Time of one retried sign-in: every attempt and wait until the connection opened or failed.',
    ),
    retries: counter(
      'rds_iam.sign_in.retries',
      '{retry}',
      'Connects tried again, by why the one before failed.',
    ),
    throttled: counter(
      'rds_iam.sign_in.throttled',
      '{response}',
      'Sign-in answers that said the server throttles new IAM connections.',
    ),
    credentialFailures: counter(
      'rds_iam.credentials.refresh_failures',
      '{failure}',
      'Failures to get or renew AWS credentials, or to refresh a token with them.',
    ),
  }
}
