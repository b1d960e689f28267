// OpenTelemetry's stable database-client and general attribute names (semantic conventions 1.45; a test compares
// them with `@opentelemetry/semantic-conventions`), written out so core needs no runtime dependency for them.
export const DB_SYSTEM_NAME = 'db.system.name'
export const DB_NAMESPACE = 'db.namespace'
export const DB_RESPONSE_STATUS_CODE = 'db.response.status_code'
export const SERVER_ADDRESS = 'server.address'
export const SERVER_PORT = 'server.port'
export const ERROR_TYPE = 'error.type'
export const POSTGRESQL = 'postgresql'

// No convention covers IAM sign-in, so rds-iam's own names live under `rds_iam.`, never under `db.`.
export const RDS_IAM_USER = 'rds_iam.user'
export const RDS_IAM_REGION = 'rds_iam.region'
export const RDS_IAM_TLS_MODE = 'rds_iam.tls.mode'
export const RDS_IAM_CREDENTIALS_SOURCE = 'rds_iam.credentials.source'
export const RDS_IAM_TOKEN_SOURCE = 'rds_iam.token.source'
export const RDS_IAM_TOKEN_REFRESH = 'rds_iam.token.refresh'
export const RDS_IAM_ATTEMPT = 'rds_iam.attempt'
export const RDS_IAM_ATTEMPTS = 'rds_iam.sign_in.attempts'
export const RDS_IAM_RETRY_REASON = 'rds_iam.retry.reason'

export const SPAN_SIGN_IN = 'rds_iam.sign_in'
export const SPAN_ATTEMPT = 'rds_iam.connect_attempt'
export const SPAN_TOKEN = 'rds_iam.token'
export const EVENT_RETRY = 'rds_iam.retry'
