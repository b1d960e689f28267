import { configError } from '../errors'
import type { Target } from './target'

// Every partition (aws, aws-cn, aws-us-gov, aws-iso*) names regions like `eu-west-1` or `us-gov-east-1`;
// this also rules out the `global` label of global database writer endpoints.
export const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d+$/

// `<id>.<hash>.<region>.rds.amazonaws.com`, with `rds-fips`, and the older China `....<region>.rds.amazonaws.com.cn`.
const REGION_BEFORE_SERVICE = /^[^.]+(?:\.[^.]+)+\.([^.]+)\.rds(?:-fips)?\.amazonaws\.com(?:\.cn)?$/

// `<id>.<hash>.rds.<region>.amazonaws.com.cn` in China, and the same shape with `rds-fips`.
const REGION_AFTER_SERVICE = /^[^.]+(?:\.[^.]+)+\.rds(?:-fips)?\.([^.]+)\.amazonaws\.com(?:\.cn)?$/

// RDS accepts a token for 15 minutes after it was signed, whatever its X-Amz-Expires says, and its signer
// always asks for 900.
const RDS_TOKEN_LIFETIME_SECONDS = 900

/** A host name as DNS compares it: lowercase, without the root's trailing dot. */
export function normalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '')
}

function inferRdsRegion(host: string): string | undefined {
  const name = normalHost(host)
  const region = REGION_BEFORE_SERVICE.exec(name)?.[1] ?? REGION_AFTER_SERVICE.exec(name)?.[1]
  return region !== undefined && REGION_PATTERN.test(region) ? region : undefined
}

/** RDS and Aurora instances, clusters and their endpoints: `rds-db:connect` tokens for `host:port` and a user. */
export const rdsTarget: Target = {
  kind: 'rds',
  name: 'RDS',
  exampleEndpoint: 'mydb.cluster-abc123.us-east-1.rds.amazonaws.com',
  isEndpoint: (host) => inferRdsRegion(host) !== undefined,
  inferRegion: inferRdsRegion,
  tokenKind({ tokenHost, tokenPort, user, admin, lifetimeSeconds }) {
    if (admin !== undefined) {
      throw configError(
        '`admin` is an Aurora DSQL option: an RDS token names its user, so it has no admin kind.',
        "Leave `admin` out, or set `target: 'dsql'` if the host is an alias of an Aurora DSQL cluster.",
      )
    }
    if (lifetimeSeconds !== undefined && lifetimeSeconds !== RDS_TOKEN_LIFETIME_SECONDS) {
      throw configError(
        '`tokenLifetimeSeconds` is an Aurora DSQL option: RDS accepts a token for 15 minutes whatever it asks for.',
        "Leave `tokenLifetimeSeconds` out, or set `target: 'dsql'` if the host is an alias of an Aurora DSQL cluster.",
      )
    }
    return {
      service: 'rds-db',
      action: 'connect',
      dbUser: user,
      host: `${tokenHost}:${tokenPort}`,
      lifetimeSeconds: RDS_TOKEN_LIFETIME_SECONDS,
    }
  },
  poolMaxLifetimeSeconds: undefined,
  trust: 'rds-ca',
  // The rules every target shares were written for RDS's answers.
  errorRules: [],
  hints: {},
}
