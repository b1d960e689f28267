import { credentialsEnd } from './credentials'
import type { AwsCredentialIdentity } from './types'

// RDS accepts a token for 15 minutes after it was signed.
export const TOKEN_LIFETIME_MS = 900_000

export interface SignRequest {
  hostname: string
  port: number
  username: string
  region: string
  identity: AwsCredentialIdentity
  // By the caller's clock, which tests replace.
  signedAt: number
}

export interface SignedToken {
  token: string
  // The end of its 15 minutes, or of the credentials that signed it if they end sooner.
  expiresAt: number
}

let signerModule: Promise<typeof import('@aws-sdk/rds-signer')> | undefined

// The signer is imported on the first token, so importing core stays cheap for those who never sign.
export async function signToken(request: SignRequest): Promise<SignedToken> {
  signerModule ??= import('@aws-sdk/rds-signer')
  const { Signer } = await signerModule
  const { hostname, port, username, region, identity, signedAt } = request
  // A resolved identity rather than a provider: the signer would otherwise wrap and call the provider itself.
  const token = await new Signer({ hostname, port, username, region, credentials: identity }).getAuthToken()
  return { token, expiresAt: Math.min(signedAt + TOKEN_LIFETIME_MS, credentialsEnd(identity)) }
}
