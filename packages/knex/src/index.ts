import { RdsIamError } from '@rds-iam/core'
import { createDriverAuth, driverConfig } from '@rds-iam/core/adapter'
import { createClientClass, type IamClientConfig, poolLifetimeOf } from '@rds-iam/pg'
import knex, { type Knex } from 'knex'
import pg from 'pg'

export * from '@rds-iam/core'

/** Knex's config for PostgreSQL, whose `connection` is pg's settings without a password plus `ssl` and `iam`. */
export interface IamKnexConfig extends Omit<Knex.Config, 'client' | 'connection'> {
  /**
   * pg's connection settings without `password` (the token is the password), or a connection URL.
   * PGHOST, PGPORT, PGUSER and PGDATABASE fill in what it leaves out.
   * @example connection: { host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app', database: 'app' }
   */
  connection?: IamClientConfig | string
}

/**
 * A Knex instance for PostgreSQL whose pooled connections sign in with IAM tokens over verified TLS; a connect
 * rejected for its token is retried once on a fresh connection with a new token.
 * @example
 * const db = createKnex({ connection: { host: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com', user: 'app' } })
 * await db.migrate.latest()
 */
export function createKnex(config?: IamKnexConfig): Knex {
  const { connection = {}, ...knexConfig } = driverConfig(config)
  const clientConfig = typeof connection === 'string' ? { connectionString: connection } : connection
  // knex's pg dialect opens every connection with `new driver.Client(settings)`: hand it pg with the IAM Client.
  const Client = createClientClass(clientConfig)
  const driver = Object.assign(Object.create(pg), { Client })
  class IamKnexClient extends knexPgDialect() {
    _driver(): unknown {
      return driver
    }

    // Knex's pool waits for the connections still being made; those waiting for AWS credentials fail at once.
    override destroy(callback?: (error?: unknown) => void): unknown {
      Client.abortWaitingSignIns()
      return super.destroy(callback)
    }
  }
  // The driver's Client owns every connection setting; knex only makes a pool when `connection` is set.
  const instance = knex({
    ...knexConfig,
    pool: withLifetime(knexConfig.pool, poolLifetimeOf(Client)),
    client: IamKnexClient,
    connection: {},
  })
  if (instance.client.driver !== driver) {
    // Its connections would otherwise be opened by plain pg, skipping IAM.
    throw new RdsIamError('config', 'This knex did not load pg through its dialect.', {
      hint: 'Use knex 2 or 3, the versions @rds-iam/knex supports.',
    })
  }
  return instance
}

// Aurora DSQL ends sessions at 60 minutes: knex's pool (3.3 and later; older ones ignore the option) retires
// connections before that unless the user chose a lifetime.
function withLifetime(
  pool: Knex.PoolConfig | undefined,
  seconds: number | undefined,
): Knex.PoolConfig | undefined {
  if (seconds === undefined || pool?.maxConnectionLifetimeMillis !== undefined) return pool
  return { ...pool, maxConnectionLifetimeMillis: seconds * 1000 }
}

// The pg dialect is not exported by knex; an instance made without a connection names its class and opens nothing.
// Its `_driver()` is where knex loads `pg`, the one place a dialect names its driver.
function knexPgDialect(): typeof Knex.Client {
  return knex({ client: 'pg' }).client.constructor
}

/**
 * A `connection` value for an existing Knex config with `client: 'pg'`: each new pooled connection gets a valid
 * token and core's TLS. Knex's stock dialect cannot retry a connect the server rejects; `createKnex` does.
 * @example knex({ client: 'pg', connection: iamConnection({ host, user: 'app', database: 'app' }) })
 */
export function iamConnection(config?: IamClientConfig): () => Promise<Knex.PgConnectionConfig> {
  const { iam, ssl, host, port, user, database: named, connectionString, ...pgOptions } = driverConfig(config)
  const { auth, database, urlParameters } = createDriverAuth({
    explicit: { host, port, user, database: named, ssl },
    url: connectionString,
    precedence: 'url',
    iam,
  })
  return async () => ({
    // pg applies a connection string's own settings (application_name, options, ...) over the config.
    ...(pgOptions as Knex.PgConnectionConfig),
    ...urlParameters,
    host: auth.host,
    port: auth.port,
    user: auth.user,
    database,
    // pg calls the hook for every physical connection, so the settings never go stale and need no expiry check.
    password: () => auth.getToken(),
    ssl: await auth.tls(),
  })
}

export type { IamClientConfig }
