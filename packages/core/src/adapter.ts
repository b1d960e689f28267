// What adapter authors need and application code does not: kept apart so the root export stays the users' API.

export { type SignInAttempt, startConnectAttempt } from './connect-attempt'
export {
  type ConnectionFactory,
  createConnectionHandle,
  createSignInGroup,
  type SignInGroup,
} from './connection-handle'
export {
  type ConnectionSettings,
  mergeConnectionSettings,
  parseConnectionUrl,
  readLibpqEnv,
} from './connection-settings'
export { createDriverAuth, type DriverAuth, type DriverSettings, driverConfig } from './driver-auth'
export type { TrackedAttempt } from './retry'
export { createSharedTls, type SharedTls } from './shared-tls'
export { loadDefaultCaCertificates } from './ssl'
export { resetTokenCacheForTesting } from './token-cache'
