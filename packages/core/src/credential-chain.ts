import { hasProfile, readSharedProfile } from './aws-profile'
import { isRdsIamError } from './errors'
import type { AwsCredentialProvider } from './types'

// What the SDK's chain reads to decide where credentials come from. Two IamAuths that see the same values would
// build the same chain, so they can share one; a test or a process that changes them gets a chain of its own.
const CHAIN_ENVIRONMENT = [
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_EC2_METADATA_DISABLED',
] as const

const sharedChains = new Map<string, Promise<AwsCredentialProvider>>()

/**
 * The default chain for `profile`, one per profile and environment for the whole process. The SDK's chain keeps
 * the credentials it resolved until they near their expiration, so an application that makes an IamAuth per
 * request (a client per Lambda invocation or per HTTP request) asks the instance metadata service, SSO or a
 * credential_process once, not once per IamAuth.
 */
export function sharedDefaultChain(profile: string | undefined): Promise<AwsCredentialProvider> {
  const key = JSON.stringify([profile, ...CHAIN_ENVIRONMENT.map((name) => process.env[name])])
  let chain = sharedChains.get(key)
  if (!chain) {
    chain = createDefaultChain(profile)
    // A chain that could not be made (the SDK failed to load) is made again by the next IamAuth.
    chain.catch(() => sharedChains.delete(key))
    sharedChains.set(key, chain)
  }
  return chain
}

/**
 * The SDK's default Node provider chain. When it fails it only says "Could not load credentials from any
 * providers": the failure is explained again by the chosen profile alone, so an unknown profile is named and a
 * failing `credential_process`, SSO or role profile keeps its own message (a process's stderr included).
 */
async function createDefaultChain(profile: string | undefined): Promise<AwsCredentialProvider> {
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
