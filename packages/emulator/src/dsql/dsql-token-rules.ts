import type { TokenRules } from '../token-validator.js'

/** The role every Aurora DSQL cluster is created with. */
export const DSQL_ADMIN_ROLE = 'admin'

/**
 * The token of `@aws-sdk/dsql-signer`: service `dsql`, `DbConnectAdmin` for the admin role and `DbConnect` for
 * every other, the bare host name, no `DBUser`, honoured for what `X-Amz-Expires` asks up to SigV4's 7 days.
 */
export const DSQL_TOKEN_RULES: TokenRules = {
  service: 'dsql',
  actionFor: (user) => (user === DSQL_ADMIN_ROLE ? 'DbConnectAdmin' : 'DbConnect'),
  actions: ['DbConnect', 'DbConnectAdmin'],
  signsUser: false,
  hostWithPort: false,
  maxLifetimeSeconds: 604_800,
}
