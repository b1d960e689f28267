import { chosenProfile, hasProfile, readSharedProfile } from './aws-profile'
import { isRdsIamError } from './errors'
import type { AwsCredentialIdentity, AwsCredentialProvider } from './types'

const sharedChains = new Map<string, Promise<AwsCredentialProvider>>()

/**
 * The default chain for `profile`, one per profile and environment for the whole process. The SDK's chain keeps
 * the credentials it resolved until they near their expiration, so an application that makes an IamAuth per
 * request (a client per Lambda invocation or per HTTP request) asks the instance metadata service, SSO or a
 * credential_process once, not once per IamAuth. Keys in the environment are read without the SDK.
 */
export function sharedDefaultChain(profile: string | undefined): Promise<AwsCredentialProvider> {
  const keys = keysInEnvironment(profile)
  if (keys) return Promise.resolve(async () => keys)
  // The chain reads where credentials come from in AWS_ variables (profile, files, container, web identity, keys).
  // IamAuths that see the same values would build the same chain; a test or process that changes them gets its
  // own. Secrets (the secret key, a session token, a container's authorization token) stay out of the key.
  const environment = Object.entries(process.env).filter(
    ([name]) => name.startsWith('AWS_') && !/SECRET|SESSION_TOKEN|AUTHORIZATION/.test(name),
  )
  const key = JSON.stringify([profile, environment])
  let chain = sharedChains.get(key)
  if (!chain) {
    chain = createDefaultChain(profile)
    // A chain that could not be made (the SDK failed to load) is made again by the next IamAuth.
    chain.catch(() => sharedChains.delete(key))
    sharedChains.set(key, chain)
  }
  return chain
}

// Keys in AWS_ variables are what the chain would answer with (it skips them when a profile is chosen), so they
// are read without loading the SDK, which costs a process 30-45 ms of CPU: Lambda passes credentials this way. As
// the SDK's `fromEnv` reads them; its chain then keeps them, as the caller does.
function keysInEnvironment(profile: string | undefined): AwsCredentialIdentity | undefined {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION } =
    process.env
  if (chosenProfile(profile) !== undefined || !AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) return undefined
  return {
    accessKeyId: AWS_ACCESS_KEY_ID,
    secretAccessKey: AWS_SECRET_ACCESS_KEY,
    ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
    ...(AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(AWS_CREDENTIAL_EXPIRATION) } : {}),
  }
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
