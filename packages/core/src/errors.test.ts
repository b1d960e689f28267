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
