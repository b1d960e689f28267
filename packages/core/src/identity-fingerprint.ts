import { createHash } from 'node:crypto'
import type { AwsCredentialIdentity } from './types'

const fingerprints = new WeakMap<AwsCredentialIdentity, string>()

/**
 * A SHA-256 digest of the secret key and session token of `identity`, for the token cache's key: a token cached
 * for an access key id is only handed to an IamAuth whose credentials hold the same secret, so a wrong or changed
 * secret (or a new session token under the same ASIA key id) signs its own token rather than borrowing a valid one.
 * The secret itself is never kept in the key. Computed once per identity object, which credential sources reuse.
 * @example identityFingerprint({ accessKeyId, secretAccessKey }) // 'q1M...'
 */
export function identityFingerprint(identity: AwsCredentialIdentity): string {
  let fingerprint = fingerprints.get(identity)
  if (fingerprint === undefined) {
    fingerprint = createHash('sha256')
      .update(identity.secretAccessKey)
      .update('\0')
      .update(identity.sessionToken ?? '')
      .digest('base64url')
    fingerprints.set(identity, fingerprint)
  }
  return fingerprint
}
