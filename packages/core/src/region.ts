import { readSharedProfile } from './aws-profile'
import { RdsIamError } from './errors'
import { normalHost, rdsTarget } from './targets/rds-target'
import { detectTarget } from './targets/resolve-target'
import type { Target } from './targets/target'

/** An RDS endpoint name, for hints that show what one looks like. */
export const EXAMPLE_ENDPOINT = rdsTarget.exampleEndpoint

/**
 * The AWS region an RDS, Aurora or Aurora DSQL endpoint name carries, or undefined for IP addresses, custom DNS
 * names and global database endpoints.
 * @example inferRegion('mydb.cluster-abc123.eu-west-1.rds.amazonaws.com') // 'eu-west-1'
 * @example inferRegion('abc123.dsql.us-east-2.on.aws') // 'us-east-2'
 */
export function inferRegion(host: string): string | undefined {
  return detectTarget(host).inferRegion(host)
}

export interface RegionResolver {
  // Known at creation unless it comes from the profile's config, which is only read at the first token.
  readonly current: string | undefined
  resolve(): Promise<string>
}

export interface RegionResolverOptions {
  region: string | undefined
  tokenHost: string
  profile: string | undefined
  target: Target
}

export function createRegionResolver(options: RegionResolverOptions): RegionResolver {
  const { AWS_REGION, AWS_DEFAULT_REGION } = process.env
  let current =
    options.region ??
    options.target.inferRegion(options.tokenHost) ??
    (AWS_REGION || AWS_DEFAULT_REGION || undefined)
  let pending: Promise<string> | undefined

  async function readProfileRegion(): Promise<string> {
    const { profile, region } = await loadProfileRegion(options.profile)
    if (region === undefined) throw regionMissing(options.tokenHost, profile, options.target)
    current = region
    return region
  }

  return {
    get current() {
      return current
    },
    resolve() {
      if (current !== undefined) return Promise.resolve(current)
      // A failure is not kept, so a config file fixed later is read on the next attempt.
      pending ??= readProfileRegion().finally(() => {
        pending = undefined
      })
      return pending
    },
  }
}

// The SDK's own loader reads the same files, honours AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE and, like the
// SDK, lets the credentials file win over the config file. A profile that does not exist is the problem to name,
// not the region it cannot have.
async function loadProfileRegion(
  profileOption: string | undefined,
): Promise<{ profile: string; region: string | undefined }> {
  const { name, files } = await readSharedProfile(profileOption)
  const { configFile, credentialsFile } = files
  return { profile: name, region: credentialsFile[name]?.region || configFile[name]?.region || undefined }
}

// `<name>.global-<hash>.global.rds.amazonaws.com`: it follows the primary cluster from region to region.
const GLOBAL_WRITER_ENDPOINT = /^[^.]+\.global-[a-z0-9]+\.global\.rds\.amazonaws\.com$/

function regionMissing(tokenHost: string, profileName: string, target: Target): RdsIamError {
  if (GLOBAL_WRITER_ENDPOINT.test(normalHost(tokenHost))) {
    return new RdsIamError(
      'region-missing',
      `No AWS region for ${tokenHost}: ${tokenHost} is an Aurora global database writer endpoint, whose name carries no region, and AWS_REGION, AWS_DEFAULT_REGION and profile "${profileName}" name none.`,
      {
        hint: "Set the `region` option to the region of the global database's primary cluster (the one its writer endpoint points at now), or set AWS_REGION; after a global failover, the new primary's region.",
      },
    )
  }
  return new RdsIamError(
    'region-missing',
    `No AWS region for ${tokenHost}: the host name is not an ${target.name} endpoint, AWS_REGION and AWS_DEFAULT_REGION are unset, and profile "${profileName}" has no region.`,
    {
      hint: `Set the \`region\` option (e.g. region: 'us-east-1'), or set \`tokenHost\` to the ${target.name} endpoint name when dialing a tunnel or alias, or set AWS_REGION / AWS_DEFAULT_REGION, or add \`region = ...\` to profile "${profileName}" in ~/.aws/config.`,
    },
  )
}
