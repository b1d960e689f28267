import {
  authenticationTimeout,
  noEncryption,
  pamAuthenticationFailed,
  tooManyClients,
} from '../postgres-errors.js'
import { RDS_TOKEN_RULES } from '../token-validator.js'
import type { EmulatorTarget } from './emulator-target.js'

const REGION_IN_HOST =
  /\.([a-z]{2}(?:-gov)?-[a-z]+-\d+)\.rds(?:-fips)?\.amazonaws\.com(?:\.cn)?\.?$|\.rds\.(cn-[a-z]+-\d+)\.amazonaws\.com\.cn\.?$/i

/** The emulator as an RDS or Aurora PostgreSQL endpoint: `rds-db` tokens, the PAM message for every refusal. */
export const rdsEmulatorTarget: EmulatorTarget = {
  kind: 'rds',
  defaultEndpoint: 'demo.cluster-abc123def456.us-east-1.rds.amazonaws.com',
  regionOf(endpoint) {
    const match = REGION_IN_HOST.exec(endpoint)
    return (match?.[1] ?? match?.[2])?.toLowerCase()
  },
  signedHost: (endpoint, port) => `${endpoint}:${port}`,
  tokenRules: RDS_TOKEN_RULES,
  answers: {
    tokenRejected: (user) => pamAuthenticationFailed(user),
    noEncryption,
    throttled: authenticationTimeout,
    tooManyConnections: tooManyClients,
  },
  iamOnly: false,
  maxSessionAgeMs: undefined,
  maxConnections: undefined,
}
