import { type IamDriverOptions, type IamOptions, RdsIamError } from '@rds-iam/core'
import { createClientClass, type IamClientClass, withIamPoolDefaults } from '@rds-iam/pg'
import pg from 'pg'
import { DataSource, type DataSourceOptions } from 'typeorm'

export * from '@rds-iam/core'

type PostgresOptions = Extract<DataSourceOptions, { type: 'postgres' }>
type Replication = NonNullable<PostgresOptions['replication']>
type Credentials = Replication['master']

/** One server's credentials as TypeORM takes them, without a password (the token is the password). */
export interface IamCredentials extends Omit<Credentials, 'password' | 'ssl'> {
  /**
   * This server's TLS policy, over the top-level `ssl`.
   * @example ssl: { ca: readFileSync('reader-private-ca.pem', 'utf8') }
   */
  ssl?: IamDriverOptions['ssl']
  /**
   * This server's own IAM settings, over the top-level `iam`: e.g. the endpoint to sign for behind a tunnel.
   * @example iam: { tokenHost: 'mydb.cluster-ro-abc123.eu-west-1.rds.amazonaws.com' }
   */
  iam?: IamOptions
}

/** TypeORM's PostgreSQL options without a password, plus `ssl` policy and `iam` for every host. */
export interface IamDataSourceOptions
  extends Omit<PostgresOptions, 'password' | 'ssl' | 'replication' | 'driver' | 'nativeDriver'>,
    IamDriverOptions {
  /**
   * A writer and readers, each signing in for its own host.
   * @example replication: { master: { host: 'db.cluster-abc...' }, slaves: [{ host: 'db.cluster-ro-abc...' }] }
   */
  replication?: Omit<Replication, 'master' | 'slaves'> & { master: IamCredentials; slaves: IamCredentials[] }
}

/**
 * TypeORM options whose pools sign in with IAM tokens over verified TLS, one token per host; a connect rejected
 * for its token is retried once on a fresh connection with a new token.
 * @example new DataSource(iamDataSourceOptions({ type: 'postgres', host, username: 'app', entities: [Note] }))
 */
export function iamDataSourceOptions(options: IamDataSourceOptions): PostgresOptions {
  const { iam, ssl, replication, ...typeormOptions } = options
  // TypeORM hands each pool the `password` of its own credentials: here a key naming that host's IAM Client class.
  const clientClasses = new Map<unknown, IamClientClass>()
  function signInFor({ ssl: ownSsl, iam: ownIam, ...credentials }: IamCredentials): Credentials {
    const { url, host, port, username: user, database } = credentials
    const iamOptions = { ...iam, ...ownIam }
    const Client = createClientClass({
      connectionString: url,
      host,
      port,
      user,
      database,
      ssl: ownSsl ?? ssl,
      iam: iamOptions,
    })
    const password = (): never => {
      throw new RdsIamError('config', 'These TypeORM options were given to a driver other than their own.', {
        hint: 'Pass the result of iamDataSourceOptions to TypeORM as a whole, `driver` included.',
      })
    }
    clientClasses.set(password, Client)
    return { ...credentials, password }
  }
  return {
    ...typeormOptions,
    // With replication TypeORM opens no pool for the top-level credentials, which may then name no host at all.
    ...(replication ? {} : signInFor({ ...typeormOptions, ssl })),
    replication: replication && {
      ...replication,
      master: signInFor(replication.master),
      slaves: replication.slaves.map(signInFor),
    },
    driver: pgWithIamPools(clientClasses),
  }
}

/**
 * A TypeORM `DataSource` for PostgreSQL whose connections sign in with IAM; see `iamDataSourceOptions`.
 * @example
 * const dataSource = createDataSource({ type: 'postgres', host, username: 'app', database: 'app', entities })
 * await dataSource.initialize()
 */
export function createDataSource(options: IamDataSourceOptions): DataSource {
  return new DataSource(iamDataSourceOptions(options))
}

// TypeORM's `driver` option: pg itself, except that each Pool it makes opens connections with its host's IAM Client.
function pgWithIamPools(clientClasses: Map<unknown, IamClientClass>): typeof pg {
  class IamPool extends pg.Pool {
    constructor(options: pg.PoolConfig = {}) {
      // Where to connect, the token and TLS are the Client's; TypeORM's copies of them must not reach pg.
      const { password, ssl, connectionString, host, port, user, database, ...poolOptions } = options
      const Client = clientClasses.get(password)
      if (!Client) {
        throw new RdsIamError(
          'config',
          'TypeORM opened a pool for credentials iamDataSourceOptions did not make.',
          {
            hint: 'Give every host (replication.master and each of replication.slaves) through iamDataSourceOptions.',
          },
        )
      }
      // `extra: { maxLifetimeSeconds }` reaches here; Aurora DSQL's default goes under it.
      super(withIamPoolDefaults({ ...poolOptions, Client }))
      this.#Client = Client
    }

    readonly #Client: IamClientClass

    // pg-pool waits for the clients still signing in; those waiting for AWS credentials fail at once instead.
    override end(): Promise<void>
    override end(callback: () => void): void
    override end(callback?: () => void): Promise<void> | undefined {
      this.#Client.abortWaitingSignIns()
      if (!callback) return super.end()
      super.end(callback)
      return undefined
    }
  }
  // `native: null` keeps TypeORM from swapping in pg-native's Pool, which would skip IAM, when pg-native is installed.
  return Object.create(pg, { Pool: { value: IamPool, enumerable: true }, native: { value: null } })
}
