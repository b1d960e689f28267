import { readSharedProfile } from './aws-profile'
import { RdsIamError } from './errors'

// Every partition (aws, aws-cn, aws-us-gov, aws-iso*) names regions like `eu-west-1` or `us-gov-east-1`;
// this also rules out the `global` label of global database writer endpoints.
const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d+$/

// `<id>.<hash>.<region>.rds.amazonaws.com`, with `rds-fips`, and the older China `....<region>.rds.amazonaws.com.cn`.
const REGION_BEFORE_SERVICE = /^[^.]+(?:\.[^.]+)+\.([^.]+)\.rds(?:-fips)?\.amazonaws\.com(?:\.cn)?$/

// `<id>.<hash>.rds.<region>.amazonaws.com.cn` in China, and the same shape with `rds-fips`.
const REGION_AFTER_SERVICE = /^[^.]+(?:\.[^.]+)+\.rds(?:-fips)?\.([^.]+)\.amazonaws\.com(?:\.cn)?$/

/** An RDS endpoint name, for hints that show what one looks like. */
export const EXAMPLE_ENDPOINT = 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com'

/**
 * The AWS region an RDS or Aurora endpoint name carries, or undefined for IP addresses, custom DNS names and
 * global database endpoints.
 * @example inferRegion('mydb.cluster-abc123.eu-west-1.rds.amazonaws.com') // 'eu-west-1'
 */
export function inferRegion(host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '')
  const region = REGION_BEFORE_SERVICE.exec(name)?.[1] ?? REGION_AFTER_SERVICE.exec(name)?.[1]
  return region !== undefined && REGION_PATTERN.test(region) ? region : undefined
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
}

export function createRegionResolver(options: RegionResolverOptions): RegionResolver {
  const { AWS_REGION, AWS_DEFAULT_REGION } = process.env
  let current =
    options.region ?? inferRegion(options.tokenHost) ?? (AWS_REGION || AWS_DEFAULT_REGION || undefined)
  let pending: Promise<string> | undefined

  async function readProfileRegion(): Promise<string> {
    const { profile, region } = await loadProfileRegion(options.profile)
    if (region === undefined) throw regionMissing(options.tokenHost, profile)
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

function regionMissing(tokenHost: string, profileName: string): RdsIamError {
  return new RdsIamError(
    'region-missing',
    `No AWS region for ${tokenHost}: the host name is not an RDS endpoint, AWS_REGION and AWS_DEFAULT_REGION are unset, and profile "${profileName}" has no region.`,
    {
      hint: `Set the \`region\` option (e.g. region: 'us-east-1'), or set \`tokenHost\` to the RDS endpoint name when dialing a tunnel or alias, or set AWS_REGION / AWS_DEFAULT_REGION, or add \`region = ...\` to profile "${profileName}" in ~/.aws/config.`,
    },
  )
}
