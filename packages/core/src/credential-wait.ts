import { chosenProfile, readSharedProfile } from './aws-profile'
import { messageOf, RdsIamError } from './errors'
import { redact } from './redact'
import type { AwsCredentialIdentity, AwsCredentialProvider } from './types'

/** Where an IamAuth's credentials come from, as far as a wait for them needs to name it. */
export interface CredentialOrigin {
  credentials: AwsCredentialIdentity | AwsCredentialProvider | undefined
  profile: string | undefined
  timeoutMs: number
}

/**
 * How a wait for credentials ended without them: `credentialsTimeoutMs` ran out (`bound`), the caller's own
 * connect timeout ran out first (`connect-timeout`), the driver's connection failed meanwhile (`ended`), or the
 * application closed the pool or client (`closed`).
 */
export type CredentialWait =
  | { kind: 'bound' | 'connect-timeout' | 'closed'; waitedMs: number }
  | { kind: 'ended'; waitedMs: number; cause: unknown }

interface SourceName {
  name: string
  fix: string
}

/**
 * The `credentials` error for a wait that got no credentials, naming the source that did not answer (the
 * `credentials` provider, a profile's credential_process or SSO, STS, the container endpoint, the instance
 * metadata service) and what to do about it. The shared files are read only now, after the wait.
 */
export async function credentialWaitError(
  origin: CredentialOrigin,
  wait: CredentialWait,
): Promise<RdsIamError> {
  const { name, fix } = await nameSource(origin)
  const waited = Math.round(wait.waitedMs)
  switch (wait.kind) {
    case 'bound':
      return new RdsIamError(
        'credentials',
        `No AWS credentials from ${name} within ${origin.timeoutMs} ms (iam.credentialsTimeoutMs).`,
        { hint: `${fix} If it is only slow, raise iam.credentialsTimeoutMs.` },
      )
    case 'connect-timeout':
      return new RdsIamError(
        'credentials',
        `No AWS credentials from ${name} within the connect timeout of ${waited} ms.`,
        { hint: `${fix} If it is only slow, allow more time to connect.` },
      )
    case 'ended':
      return new RdsIamError(
        'credentials',
        `The connection ended after it waited ${waited} ms for AWS credentials from ${name}, before it could sign in: ${redact(messageOf(wait.cause))}`,
        {
          hint: `${fix} If it is only slow, allow more time to connect (pg's connectionTimeoutMillis) or raise iam.credentialsTimeoutMs.`,
          cause: wait.cause,
        },
      )
    case 'closed':
      return new RdsIamError(
        'credentials',
        `The connection was closed while it waited ${waited} ms for AWS credentials from ${name}; it never signed in.`,
        { hint: `Nothing is wrong if the application is shutting down. Otherwise: ${fix}` },
      )
  }
}

const PROVIDER: SourceName = {
  name: 'the `credentials` provider (iam.credentials)',
  fix: 'Make the function passed as iam.credentials resolve or reject: it has not settled. Give the calls it makes (STS, a vault, an HTTP endpoint) timeouts of their own.',
}

async function nameSource({ credentials, profile }: CredentialOrigin): Promise<SourceName> {
  if (typeof credentials === 'function') return PROVIDER
  if (credentials) return { name: 'the `credentials` option', fix: 'Check the `credentials` option.' }
  return nameDefaultChain(profile, process.env)
}

type ProfileSettings = Record<string, string | undefined>

// The AWS SDK's Node chain tries, in order: keys in the environment (read without the SDK, so never waited for),
// the profile's SSO, keys, role or credential_process, a web identity token file, then the container endpoint when
// its variables are set, else the instance metadata service. The first of them that is configured is the one that
// did not answer.
async function nameDefaultChain(
  profileOption: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<SourceName> {
  const chosen = chosenProfile(profileOption, env)
  let name = chosen?.name ?? 'default'
  let settings: ProfileSettings | undefined
  try {
    const shared = await readSharedProfile(profileOption)
    name = shared.name
    const { configFile, credentialsFile } = shared.files
    if (Object.hasOwn(configFile, name) || Object.hasOwn(credentialsFile, name)) {
      settings = { ...credentialsFile[name], ...configFile[name] }
    }
  } catch {
    // An unknown profile fails the chain rather than stalling it; the rest of the chain is what waited.
  }
  const where = `profile "${name}"${chosen ? ` (from ${chosen.from})` : ''}`
  const fromProfile = settings && nameProfileSource(settings, name, where, env)
  return fromProfile ?? nameRemoteSource(env)
}

function nameProfileSource(
  settings: ProfileSettings,
  name: string,
  where: string,
  env: NodeJS.ProcessEnv,
): SourceName | undefined {
  const configPath = env.AWS_CONFIG_FILE || '~/.aws/config'
  if (settings.credential_process) {
    return {
      name: `the credential_process of ${where}`,
      fix: `Run the credential_process command of [profile ${name}] in ${configPath} by hand: it must print its credentials as JSON and exit. Fix it, or sign in to the tool it calls.`,
    }
  }
  if (settings.sso_session || settings.sso_start_url) {
    return {
      name: `AWS IAM Identity Center (SSO) for ${where}`,
      fix: `Check that the SSO portal and the SSO region's endpoints can be reached from here (proxy, firewall, VPC endpoint), or run \`aws sso login --profile ${name}\` again.`,
    }
  }
  if (settings.credential_source === 'Ec2InstanceMetadata') return IMDS
  if (settings.credential_source === 'EcsContainer') return CONTAINER
  if (settings.role_arn) {
    return {
      name: `AWS STS (the role_arn of ${where})`,
      fix: 'Check that AWS STS (sts.<region>.amazonaws.com, or its VPC endpoint) can be reached from here, and that the profile the role is assumed from answers.',
    }
  }
  return undefined
}

const IMDS: SourceName = {
  name: 'the EC2 instance metadata service (IMDS)',
  fix: 'On EC2, check that the instance has a role and that IMDS answers (in a container IMDSv2 needs a hop limit of 2). Elsewhere give credentials another way (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, iam.credentials) and set AWS_EC2_METADATA_DISABLED=true.',
}

const CONTAINER: SourceName = {
  name: 'the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI)',
  fix: 'Check that the ECS task or EKS pod has a role and that the ECS agent or the EKS Pod Identity Agent answers at that address.',
}

function nameRemoteSource(env: NodeJS.ProcessEnv): SourceName {
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    return {
      name: 'AWS STS (AssumeRoleWithWebIdentity for AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)',
      fix: 'Check that AWS STS (sts.<region>.amazonaws.com, or its VPC endpoint) can be reached from here; on EKS, that the service account is annotated with the role.',
    }
  }
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return CONTAINER
  return IMDS
}
