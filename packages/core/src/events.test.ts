import { describe, expect, it, vi } from 'vitest'
import { createIamAuth } from './create-iam-auth'
import { createEventEmitter, INSECURE_TLS_WARNING, takesObjectFirst } from './events'
import { FAKE_IDENTITY } from './test-helpers'
import type { IamEvent, IamLogger } from './types'

const key = {
  tokenHost: 'db.example.com',
  tokenPort: 5432,
  user: 'app',
  region: 'us-east-1',
  accessKeyId: 'AKID',
  action: 'connect',
  lifetimeSeconds: 900,
}
const expiresAt = new Date(Date.UTC(2026, 0, 1, 0, 15))
const error = { name: 'RdsIamError', code: 'credentials', message: 'expired' }

const events: [IamEvent, keyof IamLogger][] = [
  [{ type: 'token-generated', key, expiresAt, durationMs: 3, background: false }, 'debug'],
  [{ type: 'token-reused', key, expiresAt }, 'debug'],
  [{ type: 'token-refresh-failed', key, expiresAt, error }, 'warn'],
  [{ type: 'token-invalidated', key }, 'info'],
  [{ type: 'auth-retry', kind: 'throttled', attempt: 1, delayMs: 80, hint: 'slow down' }, 'warn'],
  [{ type: 'tls-insecure', host: 'db.example.com', reason: 'not verified' }, 'warn'],
]

function recordingLogger(): IamLogger & { lines: [keyof IamLogger, string, IamEvent][] } {
  const lines: [keyof IamLogger, string, IamEvent][] = []
  const at =
    (level: keyof IamLogger) =>
    (message: string, event: IamEvent): void => {
      lines.push([level, message, event])
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

describe('createEventEmitter', () => {
  it.each(events)('delivers %o to onEvent and logs it at %s', (event, level) => {
    const onEvent = vi.fn()
    const logger = recordingLogger()
    createEventEmitter(onEvent, logger)(event)
    expect(onEvent).toHaveBeenCalledWith(event)
    expect(logger.lines).toHaveLength(1)
    expect(logger.lines[0]?.[0]).toBe(level)
    expect(logger.lines[0]?.[1]).toMatch(/^rds-iam: /)
    expect(logger.lines[0]?.[2]).toBe(event)
  })

  it('mentions the key and expiry in log lines', () => {
    const logger = recordingLogger()
    createEventEmitter(undefined, logger)(events[0]![0])
    expect(logger.lines[0]?.[1]).toBe(
      'rds-iam: token generated for "app" at db.example.com:5432 (us-east-1), expires 2026-01-01T00:15:00.000Z',
    )
  })

  it('redacts what a log line quotes from an error', () => {
    const logger = recordingLogger()
    const leaky = { ...error, message: 'rejected X-Amz-Signature=0123abcdef&X-Amz-Security-Token=IQoJsecret' }
    createEventEmitter(undefined, logger)({ type: 'token-refresh-failed', key, expiresAt, error: leaky })
    expect(logger.lines[0]?.[1]).not.toMatch(/0123abcdef|IQoJsecret/)
    expect(logger.lines[0]?.[1]).toContain('X-Amz-Signature=[redacted]')
  })

  it('survives a throwing handler, reporting it to logger.error, and a throwing or partial logger', () => {
    const logger = recordingLogger()
    const emit = createEventEmitter(() => {
      throw new Error('handler bug')
    }, logger)
    expect(() => emit(events[1]![0])).not.toThrow()
    expect(logger.lines.map(([level]) => level)).toEqual(['error', 'debug'])
    expect(logger.lines[0]?.[1]).toContain('handler bug')

    const broken = createEventEmitter(undefined, {
      warn: () => {
        throw new Error('logger bug')
      },
    })
    expect(() => {
      for (const [event] of events) broken(event)
    }).not.toThrow()
  })

  it.each([
    ['an onEvent that is not a function', 'not a function', undefined, '`onEvent` must be a function'],
    ['a logger that is a number', undefined, 42, '`logger` must be an object'],
    ['a logger that is null', undefined, null, '`logger` must be an object'],
  ])('refuses %s when created', (_name, onEvent, logger, message) => {
    expect(() => createEventEmitter(onEvent as never, logger as never)).toThrow(
      expect.objectContaining({
        name: 'RdsIamError',
        code: 'config',
        message: expect.stringContaining(message),
      }),
    )
  })

  it('calls logger methods on the logger, so class-based loggers keep `this`', () => {
    class Logger {
      seen: string[] = []
      warn(message: string): void {
        this.seen.push(message)
      }
    }
    const logger = new Logger()
    createEventEmitter(undefined, logger)(events[5]![0])
    expect(logger.seen).toHaveLength(1)
  })
})

type LogRecord = Record<string, unknown> & { level: string; msg: unknown }

// pino's and bunyan's call shape: (fields, message, ...) or (message, ...values). After a message, pino 10 drops an
// object argument and bunyan 2 formats it into the message text (checked against both); this fake drops it, as pino.
function structuredLogger<T extends object>(marker: T): IamLogger & T & { records: LogRecord[] } {
  const records: LogRecord[] = []
  const at =
    (level: string) =>
    (first: unknown, ...rest: unknown[]): void => {
      if (typeof first === 'object' && first !== null) records.push({ ...first, level, msg: rest[0] })
      else records.push({ level, msg: first })
    }
  return { ...marker, records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

const pinoLike = () => structuredLogger({ level: 'debug', bindings: () => ({}), child: () => undefined })
const bunyanLike = () => structuredLogger({ fields: {}, addStream: () => {}, child: () => undefined })

// winston's: (message, meta) with a child() and a `levels` map, but neither bindings() nor addStream().
const winstonLike = () =>
  Object.assign(recordingLogger(), { child: () => undefined, levels: { error: 0, warn: 1 } })

describe('createEventEmitter with structured loggers', () => {
  it.each([
    ['pino', pinoLike],
    ['bunyan', bunyanLike],
  ])('gives %s the event as its fields and the text as its message', (_name, make) => {
    const logger = make()
    createEventEmitter(undefined, logger)(events[0]![0])
    expect(logger.records).toEqual([
      expect.objectContaining({
        level: 'debug',
        type: 'token-generated',
        key,
        durationMs: 3,
        msg: expect.stringMatching(/^rds-iam: token generated for "app"/),
      }),
    ])
  })

  it('tells the shapes apart by their documented methods only', () => {
    expect(takesObjectFirst(pinoLike())).toBe(true)
    expect(takesObjectFirst(bunyanLike())).toBe(true)
    expect(takesObjectFirst(winstonLike())).toBe(false)
    expect(takesObjectFirst(console)).toBe(false)
  })

  it('keeps (message, event) for console-shaped loggers such as winston', () => {
    const logger = winstonLike()
    createEventEmitter(undefined, logger)(events[3]![0])
    expect(logger.lines).toEqual([
      ['info', 'rds-iam: token dropped for "app" at db.example.com:5432 (us-east-1)', events[3]![0]],
    ])
  })
})

describe('createEventEmitter and insecure TLS', () => {
  async function warningsDuring(run: () => void): Promise<Error[]> {
    const warnings: Error[] = []
    const onWarning = (warning: Error): number => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      run()
      // Node emits process warnings on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    return warnings.filter((warning) => (warning as { code?: string }).code === INSECURE_TLS_WARNING)
  }

  it('warns once per host through process warnings when there is no logger, also with onEvent', async () => {
    const onEvent = vi.fn()
    const insecure = {
      type: 'tls-insecure',
      host: 'no-logger.example.com',
      reason: 'rejectUnauthorized is false',
    } as const
    const warnings = await warningsDuring(() => {
      createEventEmitter(undefined, undefined)(insecure)
      createEventEmitter(onEvent, undefined)(insecure)
      createEventEmitter(undefined, undefined)({ ...insecure, host: 'other.example.com' })
    })
    expect(warnings.map((warning) => warning.message)).toEqual([
      'rds-iam: TLS to no-logger.example.com is not verified: rejectUnauthorized is false',
      'rds-iam: TLS to other.example.com is not verified: rejectUnauthorized is false',
    ])
    expect(onEvent).toHaveBeenCalledWith(insecure)
  })

  it('is heard for rejectUnauthorized: false given to createIamAuth without a logger', async () => {
    const warnings = await warningsDuring(() =>
      createIamAuth({
        host: 'unverified.example.com',
        user: 'app',
        credentials: FAKE_IDENTITY,
        ssl: { rejectUnauthorized: false },
      }),
    )
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.message).toContain('rds-iam: TLS to unverified.example.com is not verified')
  })

  it('leaves the warning to the logger when there is one', async () => {
    const logger = recordingLogger()
    const warnings = await warningsDuring(() =>
      createEventEmitter(
        undefined,
        logger,
      )({ type: 'tls-insecure', host: 'logged.example.com', reason: 'x' }),
    )
    expect(warnings).toEqual([])
    expect(logger.lines.map(([level]) => level)).toEqual(['warn'])
  })
})
