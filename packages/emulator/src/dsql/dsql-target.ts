import type { EmulatorTarget } from '../targets/emulator-target.js'
import { ROLE_LOCK } from '../upstream.js'
import { DSQL_ANSWERS } from './dsql-answers.js'
import { DSQL_ADMIN_ROLE, DSQL_TOKEN_RULES } from './dsql-token-rules.js'

const REGION_IN_HOST = /\.dsql[a-z0-9-]*\.([a-z]{2}(?:-gov)?-[a-z]+-\d+)\.on\.aws\.?$/i

// "Once you're connected, you can use your session to run transaction for up to 1 hour."
const SESSION_MAX_AGE_MS = 60 * 60_000

/**
 * The emulator as an Aurora DSQL cluster: every role signs in with a `dsql` token of the action its role needs,
 * sessions end at 60 minutes (or `maxSessionAgeMs`), and refusals read as DSQL's.
 */
export const dsqlEmulatorTarget: EmulatorTarget = {
  kind: 'dsql',
  defaultEndpoint: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws',
  regionOf: (endpoint) => REGION_IN_HOST.exec(endpoint)?.[1]?.toLowerCase(),
  signedHost: (endpoint) => endpoint,
  tokenRules: DSQL_TOKEN_RULES,
  answers: DSQL_ANSWERS,
  iamOnly: true,
  maxSessionAgeMs: SESSION_MAX_AGE_MS,
  // CHAP_quotas: "Maximum connections per cluster: 10,000".
  maxConnections: 10_000,
  // DSQL's admin creates roles and tables in `public`; PostgreSQL 15 lets only the schema's owner do the latter.
  async prepareUpstream(upstream) {
    await upstream.createIamUser(DSQL_ADMIN_ROLE)
    // One transaction under the role lock: emulators that share a PostgreSQL start at the same moment, and two
    // concurrent GRANTs on one schema fail with "tuple concurrently updated".
    await upstream.query(
      `BEGIN; SELECT pg_advisory_xact_lock(${ROLE_LOCK}); ALTER ROLE ${DSQL_ADMIN_ROLE} CREATEROLE; GRANT ALL ON SCHEMA public TO ${DSQL_ADMIN_ROLE}; COMMIT`,
    )
  },
}
