import { describe, expect, it } from 'vitest'
import { redact } from './redact'

const token =
  'mydb.abc.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20260101T000000Z' +
  '&X-Amz-Expires=900&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2F%2B%3D&X-Amz-Signature=0123abcdef&X-Amz-SignedHeaders=host'

describe('redact', () => {
  it('masks the signature, session token and credential of a token and keeps the rest readable', () => {
    const text = redact(`connect failed with password ${token} (28P01)`)
    expect(text).not.toMatch(/0123abcdef|IQoJb3JpZ2luX2VjEXAMPLE|AKIAIOSFODNN7EXAMPLE/)
    expect(text).toContain('X-Amz-Signature=[redacted]')
    expect(text).toContain('X-Amz-Security-Token=[redacted]')
    expect(text).toContain('X-Amz-Credential=[redacted]')
    expect(text).toContain('DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256')
    expect(text).toMatch(/\(28P01\)$/)
  })

  it('masks URL-encoded and differently cased parameters, each occurrence', () => {
    const text = redact('a x-amz-signature%3Dfeed b X-AMZ-SIGNATURE=beef "X-Amz-Signature=cafe"')
    expect(text).not.toMatch(/feed|beef|cafe/)
    expect(text.match(/\[redacted\]/g)).toHaveLength(3)
  })

  it('leaves text without tokens alone', () => {
    expect(redact('PAM authentication failed for user "app"')).toBe(
      'PAM authentication failed for user "app"',
    )
  })
})
