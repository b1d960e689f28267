import { isWrappingKey } from './error-links'

// The signature and session token let anyone holding them connect; the credential scope names the access key.
const SECRET_QUERY_VALUE = /(X-Amz-(?:Signature|Security-Token|Credential)(?:=|%3D))[^&\s"'<>]+/gi

// Secret keys and session tokens by the names the SDK, the shared files, credential_process output and the
// environment give them (SecretAccessKey, secretAccessKey, aws_secret_access_key, AWS_SESSION_TOKEN, ...), as
// they appear quoted in JSON or inspect output or bare in ini and env text.
const SECRET_NAMED_VALUE =
  /((?:aws_)?(?:secret_?access_?key|session_?token)["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi

/**
 * Masks the secret parts of any IAM token (a presigned URL) and any named secret key or session token inside
 * `text`, so the text is safe to log.
 * @example redact(`bad password ${token}`) // '... X-Amz-Signature=[redacted] ...'
 */
export function redact(text: string): string {
  return text.replace(SECRET_QUERY_VALUE, '$1[redacted]').replace(SECRET_NAMED_VALUE, '$1[redacted]')
}

/**
 * `error` itself when nothing in it or the errors it wraps holds a secret; otherwise a copy of the chain, with the
 * same prototypes and properties, whose strings (message, stack, detail, ...) are redacted. A driver error that
 * quotes a token must not hand it on through an `RdsIamError`'s `cause`.
 */
export function redactErrorChain<T>(error: T): T {
  return holdsSecret(error, new Set()) ? (copyRedacted(error, new Map()) as T) : error
}

// Only own string properties and wrapped errors are read: other objects on an error (a socket, a client) are
// neither walked nor copied.
function holdsSecret(value: unknown, seen: Set<object>): boolean {
  if (typeof value === 'string') return redact(value) !== value
  if (typeof value !== 'object' || value === null || seen.has(value)) return false
  seen.add(value)
  return Reflect.ownKeys(value).some((key) => {
    const own = ownData(value, key)?.value
    return typeof own === 'string' ? holdsSecret(own, seen) : isWrappingKey(key) && holdsSecret(own, seen)
  })
}

function copyRedacted(value: unknown, copies: Map<object, object>): unknown {
  if (typeof value === 'string') return redact(value)
  if (typeof value !== 'object' || value === null) return value
  const known = copies.get(value)
  if (known) return known
  const copy: object = Object.create(Object.getPrototypeOf(value))
  copies.set(value, copy)
  for (const key of Reflect.ownKeys(value)) {
    // Other accessors are copied as they are: calling a getter could have effects.
    const descriptor =
      ownData(value, key) ?? (Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor)
    if (typeof descriptor.value === 'string' || isWrappingKey(key)) {
      descriptor.value = copyRedacted(descriptor.value, copies)
    }
    Object.defineProperty(copy, key, descriptor)
  }
  return copy
}

// An own data property as a descriptor. Engines differ on whether an error's `stack` is data or an accessor, so
// the stack is read through its getter and treated as data.
function ownData(target: object, key: PropertyKey): PropertyDescriptor | undefined {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  if (descriptor === undefined || 'value' in descriptor) return descriptor
  if (key !== 'stack') return undefined
  return { value: Reflect.get(target, key), writable: true, enumerable: false, configurable: true }
}
