/** What a token says about the credentials that signed it; the signature itself is never read. */
export interface TokenFacts {
  /** The access key id, shortened: it identifies the key without being a secret, but logs need not carry it. */
  accessKey: string
  /** Whether a session token was signed in: temporary credentials, which may expire before the token. */
  temporary: boolean
}

export function readTokenFacts(token: string): TokenFacts {
  const query = new URLSearchParams(token.slice(token.indexOf('?') + 1))
  const accessKeyId = query.get('X-Amz-Credential')?.split('/')[0] ?? ''
  return {
    accessKey: accessKeyId.length > 8 ? `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}` : '…',
    temporary: query.has('X-Amz-Security-Token'),
  }
}
