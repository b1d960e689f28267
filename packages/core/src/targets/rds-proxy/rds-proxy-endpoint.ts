import { normalHost } from '../rds-target'

// `<name>.proxy-<hash>.<region>.rds.amazonaws.com` for a proxy's default endpoint and
// `<endpoint>.endpoint.proxy-<hash>.<region>.rds.amazonaws.com` for its other endpoints; China puts the region
// after `rds` (`....rds.cn-north-1.amazonaws.com.cn`).
const PROXY_ENDPOINT =
  /^[^.]+\.(?:endpoint\.)?proxy-[a-z0-9]+\.(?:[^.]+\.rds(?:-fips)?\.amazonaws\.com(?:\.cn)?|rds(?:-fips)?\.[^.]+\.amazonaws\.com\.cn)$/

/**
 * Whether a host name is an RDS Proxy endpoint, the default one or one made with `create-db-proxy-endpoint`.
 * @example isRdsProxyEndpoint('orders.proxy-abc123xyz.eu-west-1.rds.amazonaws.com') // true
 */
export function isRdsProxyEndpoint(host: string): boolean {
  return PROXY_ENDPOINT.test(normalHost(host))
}

/** A proxy endpoint name, for hints that show what one looks like. */
export const EXAMPLE_PROXY_ENDPOINT = 'orders.proxy-abc123xyz.us-east-1.rds.amazonaws.com'
