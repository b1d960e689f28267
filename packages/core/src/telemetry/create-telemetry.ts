import type { Attributes, Span } from '@opentelemetry/api'
import { classifyError } from '../classify-error'
import { isRdsIamError, messageOf } from '../errors'
import type { EmitEvent } from '../events'
import { redact } from '../redact'
import type { Retry } from '../retry'
import type { AwsCredentialIdentity, AwsCredentialProvider, IamEvent, SslMode } from '../types'
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
  /**
   * The same for a sign-in of one attempt outside `auth.retry` (a pool's new client); when it fails, the retry that
   * takes over is the sign-in counted. `open` learns whether the sign-in is traced, so that a driver whose end of
   * sign-in must be watched for watches only then. Inside an attempt of a traced retry it is that attempt, not a
   * sign-in of its own.
   */
  traceSignIn<T>(open: (traced: boolean) => Promise<T>): Promise<T>
}

interface Described {
  region: () => string | undefined
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

  // Waits for the API only while it loads, at the first sign-ins of a process.
  function whenLoaded<T>(traced: (signals: Signals) => Promise<T>, plain: () => Promise<T>): Promise<T> {
    const otel = loadedOtel()
    if (otel === null) return plain()
    if (otel === undefined) return loadOtel().then(() => whenLoaded(traced, plain))
    const signals = activeSignals(otel)
    return signals ? traced(signals) : plain()
  }

  function traceRetry(retry: Retry): Retry {
    return (connect, options) =>
      whenLoaded(
        (signals) =>
          signInTraced(
            signals,
            target(),
            (attempt) => retry((next) => attempt(() => connect(next)), options),
            'retried',
          ),
        () => retry(connect, options),
      )
  }

  function traceSignIn<T>(open: (traced: boolean) => Promise<T>): Promise<T> {
    const plain = (): Promise<T> => open(false)
    return whenLoaded(
      (signals) =>
        signals.otel.context.active().getValue(IN_RETRY_ATTEMPT)
          ? plain()
          : signInTraced(signals, target(), (attempt) => attempt(() => open(true)), 'first-attempt'),
      plain,
    )
  }

  return { observe, traceHandout, traceRetry, traceSignIn }
}

function describeTarget(target: TelemetryTarget): Described {
  const metricAttributes: Attributes = {
    [DB_SYSTEM_NAME]: POSTGRESQL,
    [SERVER_ADDRESS]: target.host,
    [SERVER_PORT]: target.port,
    ...(target.database === undefined ? {} : { [DB_NAMESPACE]: target.database }),
  }
  return {
    region: target.region,
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

// Marks the context of a traced retry's attempt: a driver that signs in again within it (postgres.js's new
// connection for the retried query) is that attempt, so its span and duration are not counted twice.
const IN_RETRY_ATTEMPT = Symbol.for('@rds-iam/core:in-retry-attempt')

/** Opens a connection within one attempt: the attempt's span is active meanwhile. */
type RunAttempt = <T>(open: () => Promise<T>) => Promise<T>

// How a sign-in is traced: a retried one (`auth.retry`) has a span per attempt; a pool's first attempt is one span,
// and when it fails, the retry that takes it over (replaying its failure as its first attempt) is what counts.
type SignInKind = 'retried' | 'first-attempt'

// One sign-in: its span, active while the driver connects so that the driver's own spans and the token's nest
// under it (under a span per attempt when retried), an event per retry, and the sign-in's duration.
function signInTraced<T>(
  { otel, tracer, instruments }: Signals,
  target: Described,
  run: (attempt: RunAttempt) => Promise<T>,
  kind: SignInKind,
): Promise<T> {
  const startedAt = performance.now()
  const span = tracer?.startSpan(SPAN_SIGN_IN, {
    kind: otel.SpanKind.INTERNAL,
    attributes: target.spanAttributes,
  })
  const runContext = span && otel.trace.setSpan(otel.context.active(), span)
  let attempts = 0
  let lastReason: string | undefined

  const attempt: RunAttempt = (open) => {
    const number = ++attempts
    if (kind === 'first-attempt') return open()
    if (!tracer || !span || !runContext) {
      return otel.context.with(otel.context.active().setValue(IN_RETRY_ATTEMPT, true), open)
    }
    if (lastReason !== undefined)
      span.addEvent(EVENT_RETRY, { [RDS_IAM_RETRY_REASON]: lastReason, [RDS_IAM_ATTEMPT]: number })
    const attemptSpan = tracer.startSpan(
      SPAN_ATTEMPT,
      { kind: otel.SpanKind.INTERNAL, attributes: { [RDS_IAM_ATTEMPT]: number } },
      runContext,
    )
    let opening: ReturnType<typeof open>
    try {
      const attemptContext = otel.trace.setSpan(runContext, attemptSpan).setValue(IN_RETRY_ATTEMPT, true)
      opening = otel.context.with(attemptContext, open)
    } catch (error) {
      opening = Promise.reject(error)
    }
    return opening.then(
      (value) => {
        attemptSpan.end()
        return value
      },
      (error: unknown) => {
        lastReason = classifyError(error).kind
        endFailed(otel, attemptSpan, error, errorType(error))
        throw error
      },
    )
  }

  const finish = (error: unknown, failed: boolean): void => {
    const type = failed ? errorType(error) : undefined
    if (span) {
      span.setAttribute(RDS_IAM_ATTEMPTS, attempts)
      const regionName = target.region()
      if (regionName !== undefined) span.setAttribute(RDS_IAM_REGION, regionName)
      if (type === undefined) span.end()
      else endFailed(otel, span, error, type)
    }
    if (!instruments || (failed && kind === 'first-attempt')) return
    const seconds = (performance.now() - startedAt) / 1000
    instruments.signInDuration.record(
      seconds,
      type === undefined ? target.metricAttributes : { ...target.metricAttributes, [ERROR_TYPE]: type },
    )
    if (type === 'throttled') instruments.throttled.add(1, target.metricAttributes)
  }

  const running = runContext ? otel.context.with(runContext, () => run(attempt)) : run(attempt)
  return running.then(
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

// A low-cardinality class, as error.type asks: core's code or classification (`token-rejected`, `throttled`, ...),
// else the driver's code (a SQLSTATE, also in db.response.status_code), else the error's class.
function errorType(error: unknown): string {
  if (isRdsIamError(error)) return error.code
  const { kind } = classifyError(error)
  if (kind !== 'unknown') return kind
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
