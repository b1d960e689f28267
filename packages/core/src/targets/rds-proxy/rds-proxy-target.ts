import { rdsTarget } from '../rds-target'
import type { Target } from '../target'
import { EXAMPLE_PROXY_ENDPOINT, isRdsProxyEndpoint } from './rds-proxy-endpoint'
import { RDS_PROXY_ERROR_RULES } from './rds-proxy-error-rules'
import {
  proxyCertificateHint,
  proxyThrottledHint,
  proxyTlsHint,
  proxyTokenRejectedHint,
} from './rds-proxy-hints'

/**
 * RDS Proxy endpoints: the RDS token (`rds-db:connect` for the proxy's `host:port` and a user), certificates from
 * AWS Certificate Manager under the Amazon Root CAs, and the proxy's own texts for every refusal.
 */
export const rdsProxyTarget: Target = {
  kind: 'rds-proxy',
  name: 'RDS Proxy',
  exampleEndpoint: EXAMPLE_PROXY_ENDPOINT,
  isEndpoint: isRdsProxyEndpoint,
  inferRegion: rdsTarget.inferRegion,
  tokenKind: rdsTarget.tokenKind,
  // The proxy keeps its own pool of database connections; a client connection has no age limit of its own.
  poolMaxLifetimeSeconds: undefined,
  trust: 'public-roots',
  errorRules: RDS_PROXY_ERROR_RULES,
  hints: {
    'token-rejected': proxyTokenRejectedHint,
    'tls-required': proxyTlsHint,
    throttled: proxyThrottledHint,
    config: proxyCertificateHint,
  },
}
