import type { Target } from '../target'
import { DSQL_EXAMPLE_ENDPOINT, inferDsqlRegion } from './dsql-endpoint'
import { DSQL_ERROR_RULES } from './dsql-error-rules'
import { dsqlAccessDeniedHint, dsqlCertificateHint, dsqlRateHint, dsqlTlsHint } from './dsql-hints'
import { dsqlTokenKind } from './dsql-token'

// Aurora DSQL ends every session at 60 minutes; AWS's node-postgres connector retires connections at 55, which
// leaves a transaction started just before its 5-minute limit room to finish.
const POOL_MAX_LIFETIME_SECONDS = 3300

/** Aurora DSQL clusters: `dsql` tokens of `DbConnect` / `DbConnectAdmin` for the bare host name. */
export const dsqlTarget: Target = {
  kind: 'dsql',
  name: 'Aurora DSQL',
  exampleEndpoint: DSQL_EXAMPLE_ENDPOINT,
  isEndpoint: (host) => inferDsqlRegion(host) !== undefined,
  inferRegion: inferDsqlRegion,
  tokenKind: dsqlTokenKind,
  poolMaxLifetimeSeconds: POOL_MAX_LIFETIME_SECONDS,
  trust: 'public-roots',
  errorRules: DSQL_ERROR_RULES,
  hints: {
    'token-rejected': dsqlAccessDeniedHint,
    'tls-required': dsqlTlsHint,
    throttled: dsqlRateHint,
    config: dsqlCertificateHint,
  },
}
