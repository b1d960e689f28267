import dns from 'node:dns'
import { DsqlSigner } from '@aws-sdk/dsql-signer'
import { type BenchDatabase, prebuiltTls, productionCaList } from './database'

type LookupCallback = (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void

/**
 * Makes the emulator's DSQL endpoint name resolve to where it listens, for this process. AWS's connector signs for
 * the host it dials and has no separate token host, so both sides of a DSQL benchmark dial the endpoint by name,
 * as applications do, and reach the emulator through the same lookup.
 */
export function resolveEndpointLocally(database: BenchDatabase): void {
  const original = dns.lookup
  const patched = (host: string, options: unknown, callback?: LookupCallback): void => {
    const done = (typeof options === 'function' ? options : callback) as LookupCallback
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all
    if (host.toLowerCase() !== database.endpoint.toLowerCase()) {
      ;(original as (...args: unknown[]) => void)(host, options, callback)
      return
    }
    if (all) done(null, [{ address: database.host, family: 4 }])
    else done(null, database.host, 4)
  }
  dns.lookup = patched as typeof dns.lookup
}

/**
 * The emulator's key as the default credential chain of both sides finds it, in AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (a profile would win over them in the SDK, so none is named).
 */
export function useEnvironmentCredentials(database: BenchDatabase): void {
  delete process.env.AWS_PROFILE
  delete process.env.AWS_SESSION_TOKEN
  process.env.AWS_ACCESS_KEY_ID = database.credentials.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = database.credentials.secretAccessKey
  process.env.AWS_REGION = database.region
}

/** What both sides dial and sign in as: the cluster endpoint by name, its port, the role. */
function endpointSettings(database: BenchDatabase) {
  return { host: database.endpoint, port: database.port, user: database.user, database: database.database }
}

/** rds-iam's settings: the production CA list, which core parses into one TLS context at the first connect. */
export function iamConnection(database: BenchDatabase) {
  return { ...endpointSettings(database), ssl: { ca: productionCaList(database) } }
}

/**
 * The AWS connector's settings, at its best: one TLS context built from the same CA list, reused by every
 * connection (its default, Node's roots, costs as little). Passing the list itself would have pg parse it again
 * for every connection, tens of milliseconds of CPU that are not the connector's doing.
 */
export function awsConnection(database: BenchDatabase) {
  return { ...endpointSettings(database), ssl: prebuiltTls(database) }
}

/** Counts the tokens AWS's connector signs: it signs with @aws-sdk/dsql-signer, the copy this package resolves. */
export function countOfficialTokens(): () => number {
  let count = 0
  for (const method of ['getDbConnectAuthToken', 'getDbConnectAdminAuthToken'] as const) {
    const original = DsqlSigner.prototype[method]
    DsqlSigner.prototype[method] = function (this: DsqlSigner) {
      count++
      return original.call(this)
    }
  }
  return () => count
}
