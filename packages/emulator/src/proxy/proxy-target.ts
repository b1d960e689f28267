import type { EmulatorTarget } from '../targets/emulator-target.js'
import { rdsEmulatorTarget } from '../targets/rds-target.js'
import { createProxyCertificates } from './proxy-certificates.js'
import { createProxyMode } from './proxy-mode.js'

// What an emulator started with defaults answers; each emulator gets its own from `instantiate`.
const defaults = createProxyMode({ forceSsl: true, maxConnections: undefined })

/**
 * The emulator as an RDS Proxy endpoint: the RDS token for the proxy's `endpoint:port`, the proxy's own answers and
 * limits (proxy-mode.ts), and a certificate chain like the proxy's under a stand-in for Amazon Root CA 1.
 */
export const rdsProxyEmulatorTarget: EmulatorTarget = {
  kind: 'rds-proxy',
  defaultEndpoint: 'demo.proxy-abc123def456.us-east-1.rds.amazonaws.com',
  regionOf: rdsEmulatorTarget.regionOf,
  signedHost: rdsEmulatorTarget.signedHost,
  tokenRules: rdsEmulatorTarget.tokenRules,
  answers: defaults.answers,
  iamOnly: false,
  maxSessionAgeMs: undefined,
  maxConnections: undefined,
  issueCertificates: (hosts, root) => createProxyCertificates({ hosts, ...(root ? { root } : {}) }),
  instantiate: createProxyMode,
}
