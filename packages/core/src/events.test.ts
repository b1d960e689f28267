import { describe, expect, it, vi } from 'vitest'
import { createEventEmitter } from './events'
import type { IamEvent, IamLogger } from './types'

const key = {
  tokenHost: 'db.example.com',
  tokenPort: 5432,
  user: 'app',
  region: 'us-east-1',
  accessKeyId: 'AKID',
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
