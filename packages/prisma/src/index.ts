import { PrismaPg } from '@prisma/adapter-pg'
import { RdsIamError, type RdsIamErrorCode } from '@rds-iam/core'
import { driverConfig } from '@rds-iam/core/adapter'
import { createClientClass, type IamClientClass, type IamPoolConfig, withIamPoolDefaults } from '@rds-iam/pg'
import type pg from 'pg'

export * from '@rds-iam/core'

/** `@prisma/adapter-pg`'s own options: `schema`, pool and connection error callbacks. */
export type PrismaPgOptions = NonNullable<ConstructorParameters<typeof PrismaPg>[1]>

/**
 * The `@prisma/adapter-pg` driver adapter for `new PrismaClient({ adapter })`, whose connections sign in with IAM
 * tokens over verified TLS; a connect rejected for its token is retried once on a fresh connection with a new
 * token. `config` is pg's pool config without a password, plus `ssl` and `iam`.
 * @example
 * const adapter = createPrismaAdapter({ host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app' })
 * const prisma = new PrismaClient({ adapter })
 */
export function createPrismaAdapter(config?: IamPoolConfig, options?: PrismaPgOptions): PrismaPg {
  // Where to connect and how to sign in belong to the Client alone; the pool keeps only its own settings.
  const { iam, ssl, connectionString, host, port, user, database, ...poolOptions } = driverConfig(config)
  // A pool config, never a Pool: the adapter tells a Pool from a config with `instanceof` against its own copy of
  // pg, and takes a Pool from any other copy for a config. Every copy's pg-pool opens connections with `Client`.
  const Client = createClientClass(config)
  // Pool options such as `maxLifetimeSeconds` are the user's; Aurora DSQL's default goes under them.
  const poolConfig: pg.PoolConfig = withIamPoolDefaults({ ...poolOptions, Client })
  const adapter = new PrismaPg(poolConfig, options)
  endingSignInsOnDispose(adapter, Client)
  // The adapter builds its pool from the config it keeps; one that kept something else would open plain
  // connections to whatever pg defaults to, so that is refused here rather than found out by a connect.
  if ((adapter as unknown as { config?: unknown }).config !== poolConfig) {
    throw new RdsIamError('config', 'This @prisma/adapter-pg did not keep the pool config it was given.', {
      hint: 'Use @prisma/adapter-pg 6.7 to 7, the versions @rds-iam/prisma supports.',
    })
  }
  return adapter
}

// The adapter's pool waits for the connections still signing in when Prisma disposes of it; those waiting for AWS
// credentials fail at once instead.
function endingSignInsOnDispose(adapter: PrismaPg, Client: IamClientClass): void {
  const connect = adapter.connect.bind(adapter)
  adapter.connect = async () => {
    const connected = await connect()
    const dispose = connected.dispose.bind(connected)
    connected.dispose = () => {
      Client.abortWaitingSignIns()
      return dispose()
    }
    return connected
  }
}

// RdsIamError codes are lower-case words joined by hyphens ('token-rejected'); Prisma's are P1000-style, SQLSTATEs
// and Node's error codes upper case, so the shape tells them apart.
const RDS_IAM_ERROR_CODE = /^[a-z]+(-[a-z]+)*$/
const HINT = ' Hint: '

/**
 * The `RdsIamError` inside an error Prisma threw, or undefined. Prisma rethrows a failed connect as its own
 * `PrismaClientKnownRequestError`, keeping the RdsIamError's `code` and message (summary and hint) but not the
 * error itself; this gives it back, with Prisma's error as `cause`.
 * @example
 * catch (error) {
 *   const iamError = rdsIamErrorOf(error)
 *   if (iamError?.code === 'token-rejected') console.error(iamError.hint)
 * }
 */
export function rdsIamErrorOf(error: unknown): RdsIamError | undefined {
  if (error instanceof RdsIamError) return error
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code !== 'string' || !RDS_IAM_ERROR_CODE.test(code) || typeof message !== 'string') {
    return undefined
  }
  const hintAt = message.lastIndexOf(HINT)
  if (hintAt < 0) return undefined
  return new RdsIamError(code as RdsIamErrorCode, message.slice(0, hintAt).trim(), {
    hint: message.slice(hintAt + HINT.length).trim(),
    cause: error,
  })
}
