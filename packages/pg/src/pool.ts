import { classifyError, type IamAuth, isRdsIamError } from '@rds-iam/core'
import {
  createSharedTls,
  type SignInAttempt,
  startConnectAttempt,
  type TrackedAttempt,
} from '@rds-iam/core/adapter'
import pg from 'pg'
import { signIn } from './sign-in'

type ConnectCallback = (error: Error | undefined, client?: pg.PoolClient, release?: () => void) => void

// Sign-in failures of pooled clients, with when that sign-in began: the pool retries these on a new client.
const signInFailures = new WeakMap<object, number>()

// The time left for a retry's client, handed to the client pg-pool constructs synchronously inside connect().
let budgetForNextClient: number | undefined
// Set the same way for a client the retry constructs: its sign-in is part of the retry's, not one of its own.
let nextClientRetries = false

const noop = (): void => {}

// pg-pool reports a client that ran out of connectionTimeoutMillis with an error of its own whose cause is the
// client's: the sign-in failure, and the error to go on with (an RdsIamError already says what held it up).
function signInFailureOf(error: Error | undefined): { error: Error; startedAt: number } | undefined {
  if (!error) return undefined
  const startedAt = signInFailures.get(error)
  if (startedAt !== undefined) return { error, startedAt }
  const { cause } = error as { cause?: unknown }
  const causeStartedAt = typeof cause === 'object' && cause !== null ? signInFailures.get(cause) : undefined
  if (causeStartedAt === undefined) return undefined
  return { error: isRdsIamError(cause) ? cause : error, startedAt: causeStartedAt }
}

/**
 * A real pg.Pool of real pg.Clients: checkouts and queries run pg-pool's and pg's own code with nothing in
 * between. Each new client signs in with its own connect attempt, so a rejection drops exactly its token; the
 * pool then retries the checkout through `auth.retry` on a new client, within `connectionTimeoutMillis`.
 */
export function createIamPool(auth: IamAuth, pgConfig: pg.ClientConfig): pg.Pool {
  const tls = createSharedTls(auth)
  const timeoutMs = pgConfig.connectionTimeoutMillis || undefined
  // The sign-ins under way, so that ending the pool need not wait for a credential provider that hangs.
  const signingIn = new Set<TrackedAttempt>()

  class IamPooledClient extends pg.Client {
    readonly #tracked: SignInAttempt
    readonly #forRetry: boolean

    // pg-pool passes its own options: this adapter's settings plus pool tuning, which pg.Client ignores.
    constructor(poolOptions?: pg.ClientConfig) {
      const tracked = startConnectAttempt(auth)
      const budget = budgetForNextClient
      const forRetry = nextClientRetries
      budgetForNextClient = undefined
      nextClientRetries = false
      super({
        ...poolOptions,
        password: tracked.attempt.password,
        ssl: tls.options,
        ...(budget === undefined ? {} : { connectionTimeoutMillis: budget }),
      })
      this.#tracked = tracked
      this.#forRetry = forRetry
    }

    override connect(): Promise<pg.Client>
    override connect(callback: (error: Error) => void): void
    override connect(callback?: (error: Error, client?: pg.Client) => void): Promise<pg.Client> | undefined {
      const startedAt = performance.now()
      signingIn.add(this.#tracked)
      const open = () => signIn(this, tls, () => super.connect())
      // One sign-in for OpenTelemetry (a span, its duration), unless it is an attempt of the pool's retry.
      const opening = (this.#forRetry ? open() : this.#tracked.signIn(open))
        .then(
          () => this,
          async (failure: unknown) => {
            const error = (await this.#tracked.failedWhileWaiting(failure)) ?? failure
            if (classifyError(error, { target: auth.target }).kind === 'token-rejected') {
              this.#tracked.invalidateToken()
            }
            if (typeof error === 'object' && error !== null) signInFailures.set(error, startedAt)
            // pg leaves the socket of a failed sign-in open (a password hook that failed, a timeout).
            this.connection?.stream?.destroy()
            throw error
          },
        )
        .finally(() => signingIn.delete(this.#tracked))
      if (!callback) return opening
      // pg calls back with null on success, which its types leave out.
      opening.then((client) => callback(null as unknown as Error, client), callback)
      return undefined
    }
  }

  class IamPool extends pg.Pool {
    override connect(): Promise<pg.PoolClient>
    override connect(callback: ConnectCallback): void
    override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
      if (!callback) {
        // pg-pool's `Promise` option, as its own connect() honours it.
        const PoolPromise = (this as { Promise?: PromiseConstructor }).Promise ?? Promise
        return new PoolPromise((resolve, reject) => {
          this.connect((error, client) => (error ? reject(error) : resolve(client as pg.PoolClient)))
        })
      }
      // The checkout path: one callback, which acts only when a new client failed to sign in.
      super.connect((error: Error | undefined, client?: pg.PoolClient, release?: () => void) => {
        const failed = signInFailureOf(error)
        if (!failed) return callback(error, client, release)
        this.#retry(failed.error, failed.startedAt).then(
          ({ client, release }) => callback(undefined, client, release),
          (failure: Error) => callback(failure, undefined, noop),
        )
      })
      return undefined
    }

    // pg-pool waits for the clients still signing in; those waiting for AWS credentials fail at once instead.
    override end(): Promise<void>
    override end(callback: () => void): void
    override end(callback?: () => void): Promise<void> | undefined {
      for (const tracked of signingIn) tracked.abort()
      if (!callback) return super.end()
      super.end(callback)
      return undefined
    }

    // The failed sign-in counts as the first attempt: auth.retry classifies it and decides whether, and when,
    // another client tries.
    async #retry(first: Error, startedAt: number): Promise<{ client: pg.PoolClient; release: () => void }> {
      let failed: Error | undefined = first
      const left =
        timeoutMs === undefined ? undefined : Math.max(1, timeoutMs - (performance.now() - startedAt))
      return auth.retry(
        (attempt) => {
          if (failed) {
            const error = failed
            failed = undefined
            return Promise.reject(error)
          }
          return new Promise((resolve, reject) => {
            const remaining = attempt.remainingMs()
            // pg reads a connectionTimeoutMillis of 0 as no timeout at all.
            budgetForNextClient = remaining === undefined ? undefined : Math.max(1, remaining)
            nextClientRetries = true
            super.connect((error: Error | undefined, client?: pg.PoolClient, release?: () => void) =>
              error ? reject(error) : resolve({ client: client as pg.PoolClient, release: release ?? noop }),
            )
            budgetForNextClient = undefined
            nextClientRetries = false
          })
        },
        { timeoutMs: left },
      )
    }
  }

  return new IamPool({ ...withPoolLifetime(pgConfig, auth.poolMaxLifetimeSeconds), Client: IamPooledClient })
}

/**
 * The pool config with pg-pool's `maxLifetimeSeconds` set for a target whose server ends sessions (Aurora DSQL:
 * retired at 55 minutes, before its 60), unless the user set one; unchanged elsewhere.
 */
export function withPoolLifetime<T extends pg.PoolConfig>(config: T, seconds: number | undefined): T {
  if (seconds === undefined || config.maxLifetimeSeconds !== undefined) return config
  return { ...config, maxLifetimeSeconds: seconds }
}
