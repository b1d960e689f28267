export { classifyError } from './classify-error'
export {
  type ConnectionSettings,
  mergeConnectionSettings,
  parseConnectionUrl,
  readLibpqEnv,
} from './connection-settings'
export { createIamAuth, type IamAuthSummary } from './create-iam-auth'
export {
  createDriverAuth,
  type DriverAuth,
  type DriverSettings,
  type IamDriverOptions,
  type IamOptions,
} from './driver-auth'
export { isRdsIamError, RdsIamError, type RdsIamErrorOptions } from './errors'
export { redact } from './redact'
export { inferRegion } from './region'
export { resetTokenCacheForTesting } from './token-cache'
export type * from './types'
