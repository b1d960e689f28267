import { hasProfile, readSharedProfile } from './aws-profile'
import { isRdsIamError } from './errors'
import type { AwsCredentialProvider } from './types'

/**
 * The SDK's default Node provider chain. When it fails it only says "Could not load credentials from any
 * providers": the failure is explained again by the chosen profile alone, so an unknown profile is named and a
 * failing `credential_process`, SSO or role profile keeps its own message (a process's stderr included).
 */
export async function createDefaultChain(profile: string | undefined): Promise<AwsCredentialProvider> {
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers')
  const chain = fromNodeProviderChain(profile === undefined ? {} : { profile })
  return async (options) => {
    try {
      return await chain(options)
    } catch (error) {
      // An unknown profile is the explanation; a diagnosis that fails otherwise (an unreadable config file) leaves
      // the chain's own error.
      throw await explainChainFailure(error, profile).catch((failure: unknown) =>
        isRdsIamError(failure) ? failure : error,
      )
    }
  }
}

// Runs only after the chain failed, so a working setup never reads the files twice or runs a process again.
async function explainChainFailure(error: unknown, profile: string | undefined): Promise<unknown> {
  const { name, files } = await readSharedProfile(profile)
  if (!hasProfile(name, files)) return error
  const { fromIni } = await import('@aws-sdk/credential-providers')
  // Credentials found this time still leave this call failed: the chain's failure is what the caller saw.
  return fromIni({ profile: name, ignoreCache: true })().then(
    () => error,
    (profileError: unknown) => profileError,
  )
}
