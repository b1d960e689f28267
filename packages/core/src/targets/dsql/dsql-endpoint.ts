import { normalHost, REGION_PATTERN } from '../rds-target'

// `<cluster-id>.dsql.<region>.on.aws`; like AWS's own connectors, the service label may carry a suffix
// (`dsql-fips`, and the names of other endpoint kinds) before the region.
const DSQL_ENDPOINT = /^[a-z0-9-]+\.dsql[a-z0-9-]*\.([a-z0-9-]+)\.on\.aws$/

/** An Aurora DSQL cluster endpoint, for hints that show what one looks like. */
export const DSQL_EXAMPLE_ENDPOINT = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'

/**
 * The region of an Aurora DSQL cluster endpoint, or undefined when the name is not one.
 * @example inferDsqlRegion('abc123.dsql.eu-west-1.on.aws') // 'eu-west-1'
 */
export function inferDsqlRegion(host: string): string | undefined {
  const region = DSQL_ENDPOINT.exec(normalHost(host))?.[1]
  return region !== undefined && REGION_PATTERN.test(region) ? region : undefined
}
