import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { isRdsIamError, RdsIamError, toErrorLike } from './errors'

describe('RdsIamError', () => {
  it('carries code, hint and cause, and reads as what went wrong plus the fix', () => {
    const cause = new Error('server said no')
    const error = new RdsIamError('not-iam-user', 'The server asked for a password.', {
      hint: 'GRANT rds_iam.',
      cause,
    })
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ name: 'RdsIamError', code: 'not-iam-user', hint: 'GRANT rds_iam.', cause })
    expect(error.message).toBe('The server asked for a password. Hint: GRANT rds_iam.')
    expect(error.stack).toContain('RdsIamError: The server asked for a password.')
  })

  it('has no cause property when there is no cause', () => {
    expect(Object.hasOwn(new RdsIamError('config', 'Bad.', { hint: 'Fix.' }), 'cause')).toBe(false)
  })

  it('serialises to name, code, message and hint', () => {
    const error = new RdsIamError('config', 'Bad.', { hint: 'Fix.', cause: { secret: 'no' } })
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'RdsIamError',
      code: 'config',
      message: 'Bad. Hint: Fix.',
      hint: 'Fix.',
    })
    expect(inspect(error)).toContain("code: 'config'")
  })

  it('redacts tokens anywhere in its inspection, including its cause', () => {
    const cause = new Error('rejected password host:5432/?Action=connect&X-Amz-Signature=feedface')
    const text = inspect(new RdsIamError('token-rejected', 'Rejected.', { hint: 'Retry.', cause }), {
      depth: 5,
    })
    expect(text).toContain('[cause]')
    expect(text).not.toContain('feedface')
    expect(text).toContain('X-Amz-Signature=[redacted]')
  })
})

describe('isRdsIamError', () => {
  it('recognises instances and look-alikes from another copy of core, nothing else', () => {
    const lookAlike = Object.assign(new Error('x'), { name: 'RdsIamError', code: 'config', hint: 'h' })
    expect(isRdsIamError(new RdsIamError('config', 'x', { hint: 'h' }))).toBe(true)
    expect(isRdsIamError(lookAlike)).toBe(true)
    expect(isRdsIamError(Object.assign(new Error('x'), { code: 'config' }))).toBe(false)
    expect(isRdsIamError({ name: 'RdsIamError', code: 'config', hint: 'h' })).toBe(false)
    expect(isRdsIamError(undefined)).toBe(false)
  })
})

describe('toErrorLike', () => {
  it('keeps name, code and a redacted message', () => {
    const error = Object.assign(new Error('bad X-Amz-Signature=abcdef'), { code: 'ECONNRESET' })
    expect(toErrorLike(error)).toEqual({
      name: 'Error',
      code: 'ECONNRESET',
      message: 'bad X-Amz-Signature=[redacted]',
    })
    expect(toErrorLike('plain')).toEqual({ name: 'Error', code: 'unknown', message: 'plain' })
  })
})

describe('RdsIamError and secrets', () => {
  const secretKey = 'ZmFrZVNlY3JldEFjY2Vzc0tleUZvclRlc3RzMTIzNDU2'
  const sessionToken = `IQoJb3JpZ2luX2VjE${'Qk1+/='.repeat(40)}`

  async function realToken(): Promise<string> {
    const { Signer } = await import('@aws-sdk/rds-signer')
    const credentials = { accessKeyId: 'ASIAQNOTAREALKEY1234', secretAccessKey: secretKey, sessionToken }
    return new Signer({
      hostname: 'db.abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      username: 'app',
      region: 'eu-west-1',
      credentials,
    }).getAuthToken()
  }

  function secretsIn(token: string): string[] {
    return [
      /X-Amz-Signature=([^&]+)/.exec(token)![1]!,
      /X-Amz-Security-Token=([^&]+)/.exec(token)![1]!,
      'ASIAQNOTAREALKEY1234',
      secretKey,
    ]
  }

  // Everything a user, a logger or an error tracker could read off the error, down the whole cause chain.
  function everythingShown(error: Error): string {
    const parts: unknown[] = [
      error.message,
      error.stack,
      JSON.stringify(error),
      inspect(error, { depth: 12 }),
    ]
    const seen = new Set<unknown>()
    const walk = (value: unknown): void => {
      if (typeof value !== 'object' || value === null || seen.has(value)) return
      seen.add(value)
      for (const key of Reflect.ownKeys(value)) {
        const own = Object.getOwnPropertyDescriptor(value, key)?.value
        if (typeof own === 'string') parts.push(own)
        else walk(own)
      }
    }
    walk(error)
    return parts.join('\n')
  }

  it('carries no token, key or session token in message, hint, stack, JSON, inspect or any cause', async () => {
    const token = await realToken()
    // A driver error that quotes the password, wrapped the way Sequelize and a pool wrap it.
    const driverError = Object.assign(new Error(`password authentication failed; password was ${token}`), {
      code: '28P01',
      detail: `secretAccessKey: '${secretKey}'`,
    })
    const ormError = Object.assign(new Error(driverError.message), {
      parent: driverError,
      original: driverError,
    })
    const poolError = new Error('connect failed', { cause: ormError })
    const error = new RdsIamError('token-rejected', `Rejected ${token}.`, {
      hint: `Not ${token}.`,
      cause: poolError,
    })
    const shown = everythingShown(error)
    for (const secret of secretsIn(token)) expect(shown).not.toContain(secret)
    expect(shown).toContain('X-Amz-Signature=[redacted]')
    // The copy keeps what debugging needs: classes, codes and the shape of the chain.
    const cause = error.cause as Error & {
      cause: Error & { parent: Error & { code: string }; original: unknown }
    }
    expect(cause).toBeInstanceOf(Error)
    expect(cause.cause.parent.code).toBe('28P01')
    expect(cause.cause.original).toBe(cause.cause.parent)
    expect(cause.cause.parent.message).toContain('password authentication failed')
  })

  it('redacts a stack kept behind an accessor, as some engines keep it', async () => {
    const token = await realToken()
    const cause = new Error(`rejected ${token}`)
    const stack = cause.stack
    Object.defineProperty(cause, 'stack', { get: () => stack, configurable: true })
    const copy = new RdsIamError('token-rejected', 'Rejected.', { hint: 'Retry.', cause }).cause as Error
    expect(copy.stack).toContain('X-Amz-Signature=[redacted]')
    for (const secret of secretsIn(token)) expect(copy.stack).not.toContain(secret)
  })

  it('keeps a cause that holds no secret as it is', () => {
    const cause = Object.assign(new Error('PAM authentication failed for user "app"'), { code: '28000' })
    expect(new RdsIamError('token-rejected', 'Rejected.', { hint: 'Retry.', cause }).cause).toBe(cause)
  })

  it('copes with a cause chain that loops', async () => {
    const token = await realToken()
    const a: Error & { cause?: unknown } = new Error(`a ${token}`)
    a.cause = new Error('b', { cause: a })
    const error = new RdsIamError('unknown', 'Wrapped.', { hint: 'See cause.', cause: a })
    const copy = error.cause as Error & { cause: Error & { cause: unknown } }
    expect(copy.cause.cause).toBe(copy)
    for (const secret of secretsIn(token)) expect(everythingShown(error)).not.toContain(secret)
  })
})
