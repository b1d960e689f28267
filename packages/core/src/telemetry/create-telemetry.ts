import type { Attributes, Span } from '@opentelemetry/api'
import { classifyError } from '../classify-error'
import { isRdsIamError, messageOf } from '../errors'
import type { EmitEvent } from '../events'
import { redact } from '../redact'
import type { Retry } from '../retry'
import type {
  AwsCredentialIdentity,
  AwsCredentialProvider,
  ConnectAttempt,
  IamEvent,
  RetryRunOptions,
  SslMode,
} from '../types'
import {
  DB_NAMESPACE,
  DB_RESPONSE_STATUS_CODE,
  DB_SYSTEM_NAME,
  ERROR_TYPE,
  EVENT_RETRY,
  POSTGRESQL,
  RDS_IAM_ATTEMPT,
  RDS_IAM_ATTEMPTS,
  RDS_IAM_CREDENTIALS_SOURCE,
  RDS_IAM_REGION,
  RDS_IAM_RETRY_REASON,
  RDS_IAM_TLS_MODE,
  RDS_IAM_TOKEN_REFRESH,
  RDS_IAM_TOKEN_SOURCE,
  RDS_IAM_USER,
  SERVER_ADDRESS,
  SERVER_PORT,
  SPAN_ATTEMPT,
  SPAN_SIGN_IN,
  SPAN_TOKEN,
} from './attributes'
import { activeInstruments, activeSignals, type Signals } from './instruments'
import { loadedOtel, loadOtel } from './otel-api'

/** Where a handed-out token came from. */
export type TokenSource = 'cache' | 'signed'

/** What the telemetry of one IamAuth says about it; read at its first recorded sign-in. */
export interface TelemetryTarget {
  host: string
  port: number
  user: string
  database: string | undefined
  credentials: AwsCredentialIdentity | AwsCredentialProvider | undefined
  profile: string | undefined
  sslMode: SslMode
  region(): string | undefined
}

/** The hooks of one IamAuth into OpenTelemetry; each is a plain pass-through while nothing records. */
export interface Telemetry {
  /** Counts the events that are metrics: tokens signed, retries by reason, throttling, refresh failures. */
  observe(emit: EmitEvent): EmitEvent
  /** A span and metrics for each token handed to a connection. */
  traceHandout<H extends { source: TokenSource }>(
    handOut: (waitMs?: number) => H | Promise<H>,
  ): (waitMs?: number) => H | Promise<H>
  /** A span for each retried sign-in, a child span for each attempt, and the sign-in's duration. */
  traceRetry(retry: Retry): Retry
}

interface Described {
  spanAttributes: Attributes
  metricAttributes: Attributes
  bySource: Record<TokenSource, Attributes>
}

/**
 * The OpenTelemetry hooks of one IamAuth. Starts loading `@opentelemetry/api` (once per process); without it, or
 * with no SDK registered, every hook calls straight through: no span, no attribute object, no clock read.
 */
export function createTelemetry(describe: () => TelemetryTarget): Telemetry {
  loadOtel()
  let described: Described | undefined
  const target = (): Described => {
    described ??= describeTarget(describe())
    return described
  }

  function observe(emit: EmitEvent): EmitEvent {
    return (event) => {
      emit(event)
      const otel = loadedOtel()
      const instruments = otel && activeInstruments(otel)
      if (instruments) countEvent(instruments, event, target().metricAttributes)
    }
  }

  function traceHandout<H extends { source: TokenSource }>(
    handOut: (waitMs?: number) => H | Promise<H>,
  ): (waitMs?: number) => H | Promise<H> {
    const traced = (waitMs?: number): H | Promise<H> => {
      const otel = loadedOtel()
      if (otel === null) return handOut(waitMs)
      // Only the first sign-ins of a process, while the API loads, wait for it.
      if (otel === undefined) return loadOtel().then(() => traced(waitMs))
      const signals = activeSignals(otel)
      return signals ? handOutTraced(signals, target(), () => handOut(waitMs)) : handOut(waitMs)
    }
    return traced
  }

  function traceRetry(retry: Retry): Retry {
    const traced: Retry = (connect, options) => {
      const otel = loadedOtel()
      if (otel === null) return retry(connect, options)
      if (otel === undefined) return loadOtel().then(() => traced(connect, options))
      const signals = activeSignals(otel)
      return signals
        ? retryTraced(signals, target(), () => describe().region(), retry, connect, options)
        : retry(connect, options)
    }
    return traced
  }

  return { observe, traceHandout, traceRetry }
}

function describeTarget(target: TelemetryTarget): Described {
  const metricAttributes: Attributes = {
    [DB_SYSTEM_NAME]: POSTGRESQL,
    [SERVER_ADDRESS]: target.host,
    [SERVER_PORT]: target.port,
    ...(target.database === undefined ? {} : { [DB_NAMESPACE]: target.database }),
  }
  return {
    metricAttributes,
    spanAttributes: {
      ...metricAttributes,
      [RDS_IAM_USER]: target.user,
      [RDS_IAM_TLS_MODE]: target.sslMode,
      [RDS_IAM_CREDENTIALS_SOURCE]: credentialsSource(target),
    },
    bySource: {
      cache: { ...metricAttributes, [RDS_IAM_TOKEN_SOURCE]: 'cache' },
      signed: { ...metricAttributes, [RDS_IAM_TOKEN_SOURCE]: 'signed' },
    },
  }
}

// Names where the keys come from, never which keys.
function credentialsSource({ credentials, profile }: TelemetryTarget): string {
  if (typeof credentials === 'function') return 'provider'
  if (credentials) return 'static'
  return profile === undefined ? 'default-chain' : 'profile'
}

function countEvent(
  instruments: NonNullable<Signals['instruments']>,
  event: IamEvent,
  base: Attributes,
): void {
  switch (event.type) {
    case 'token-generated':
      instruments.tokensSigned.add(1, {
        ...base,
        [RDS_IAM_TOKEN_REFRESH]: event.background ? 'background' : 'on-demand',
      })
      return
    case 'auth-retry':
      instruments.retries.add(1, { ...base, [RDS_IAM_RETRY_REASON]: event.kind })
      if (event.kind === 'throttled') instruments.throttled.add(1, base)
      return
    case 'token-refresh-failed':
      instruments.credentialFailures.add(1, { ...base, [ERROR_TYPE]: event.error.code || event.error.name })
      return
  }
}

function handOutTraced<H extends { source: TokenSource }>(
  { otel, tracer, instruments }: Signals,
  target: Described,
  handOut: () => H | Promise<H>,
): H | Promise<H> {
  const startedAt = performance.now()
  const span = tracer?.startSpan(SPAN_TOKEN, {
    kind: otel.SpanKind.INTERNAL,
    attributes: target.spanAttributes,
  })
  const done = (handout: H): H => {
    span?.setAttribute(RDS_IAM_TOKEN_SOURCE, handout.source)
    span?.end()
    if (instruments) {
      const attributes = target.bySource[handout.source]
      instruments.tokenDuration.record((performance.now() - startedAt) / 1000, attributes)
      if (handout.source === 'cache') instruments.cacheHits.add(1, target.metricAttributes)
    }
    return handout
  }
  const handout = handOut()
  if (!(handout instanceof Promise)) return done(handout)
  return handout.then(done, (error: unknown) => {
    if (span) endFailed(otel, span, error, errorType(error))
    if (instruments && isRdsIamError(error) && error.code === 'credentials') {
      instruments.credentialFailures.add(1, { ...target.metricAttributes, [ERROR_TYPE]: error.code })
    }
    throw error
  })
}

function retryTraced<T>(
  { otel, tracer, instruments }: Signals,
  target: Described,
  region: () => string | undefined,
  retry: Retry,
  connect: (attempt: ConnectAttempt) => Promise<T>,
  options: RetryRunOptions | undefined,
): Promise<T> {
  const startedAt = performance.now()
  const span = tracer?.startSpan(SPAN_SIGN_IN, {
    kind: otel.SpanKind.INTERNAL,
    attributes: target.spanAttributes,
  })
  const runContext = span && otel.trace.setSpan(otel.context.active(), span)
  let attempts = 0
  let lastReason: string | undefined

  // Each attempt's span is the active one while the driver connects, so the driver's own spans and the token's
  // nest under it.
  const attempt: typeof connect = (next) => {
    const number = ++attempts
    if (!tracer || !span || !runContext) return connect(next)
    if (lastReason !== undefined)
      span.addEvent(EVENT_RETRY, { [RDS_IAM_RETRY_REASON]: lastReason, [RDS_IAM_ATTEMPT]: number })
    const attemptSpan = tracer.startSpan(
      SPAN_ATTEMPT,
      { kind: otel.SpanKind.INTERNAL, attributes: { [RDS_IAM_ATTEMPT]: number } },
      runContext,
    )
    let opening: Promise<T>
    try {
      opening = otel.context.with(otel.trace.setSpan(runContext, attemptSpan), () => connect(next))
    } catch (error) {
      opening = Promise.reject(error)
    }
    return opening.then(
      (value) => {
        attemptSpan.end()
        return value
      },
      (error: unknown) => {
        const { kind } = classifyError(error)
        lastReason = kind
        endFailed(otel, attemptSpan, error, kind === 'unknown' ? errorType(error) : kind)
        throw error
      },
    )
  }

  const finish = (error: unknown, failed: boolean): void => {
    const type = failed ? errorType(error) : undefined
    if (span) {
      span.setAttribute(RDS_IAM_ATTEMPTS, attempts)
      const regionName = region()
      if (regionName !== undefined) span.setAttribute(RDS_IAM_REGION, regionName)
      if (type === undefined) span.end()
      else endFailed(otel, span, error, type)
    }
    if (!instruments) return
    const seconds = (performance.now() - startedAt) / 1000
    instruments.signInDuration.record(
      seconds,
      type === undefined ? target.metricAttributes : { ...target.metricAttributes, [ERROR_TYPE]: type },
    )
    if (type === 'throttled') instruments.throttled.add(1, target.metricAttributes)
  }

  const run = runContext
    ? otel.context.with(runContext, () => retry(attempt, options))
    : retry(attempt, options)
  return run.then(
    (value) => {
      finish(undefined, false)
      return value
    },
    (error: unknown) => {
      finish(error, true)
      throw error
    },
  )
}

// A low-cardinality class, as error.type asks: core's code, else the driver's code (a SQLSTATE), else the class.
function errorType(error: unknown): string {
  if (isRdsIamError(error)) return error.code
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code !== '') return code
  return error instanceof Error ? error.name : '_OTHER'
}

// The message is redacted and no stack is recorded: a span is exported to places a token must never reach.
function endFailed(
  otel: NonNullable<ReturnType<typeof loadedOtel>>,
  span: Span,
  error: unknown,
  type: string,
): void {
  span.setAttribute(ERROR_TYPE, type)
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) span.setAttribute(DB_RESPONSE_STATUS_CODE, code)
  span.setStatus({ code: otel.SpanStatusCode.ERROR, message: redact(messageOf(error)) })
  span.end()
}
