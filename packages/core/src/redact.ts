// The signature and session token let anyone holding them connect; the credential scope names the access key.
const SECRET_QUERY_VALUE = /(X-Amz-(?:Signature|Security-Token|Credential)(?:=|%3D))[^&\s"'<>]+/gi

/**
 * Masks the secret parts of any IAM token (a presigned URL) inside `text`, so the text is safe to log.
 * @example redact(`bad password ${token}`) // '... X-Amz-Signature=[redacted] ...'
 */
export function redact(text: string): string {
  return text.replace(SECRET_QUERY_VALUE, '$1[redacted]')
}
