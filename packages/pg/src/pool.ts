import { classifyError, type IamAuth } from '@rds-iam/core'
import { createSharedTls, startConnectAttempt, type TrackedAttempt } from '@rds-iam/core/adapter'
import pg from 'pg'
import { signIn } from './sign-in'

type ConnectCallback = (error: Error | undefined, client?: pg.PoolClient, release?: () => void) => void

// Sign-in failures of pooled clients, with when that sign-in began: the pool retries these on a new client.
const signInFailures = new WeakMap<object, number>()

// The time left for a retry's client, handed to the client pg-pool constructs synchronously inside connect().
let budgetForNextClient: number | undefined

const noop = (): void => {}

/**
 * A real pg.Pool of real pg.Clients: checkouts and queries run pg-pool's and pg's own code with nothing in
 * between. Each new client signs in with its own connect attempt, so a rejection drops exactly its token; the
 * pool then retries the checkout through `auth.retry` on a new client, within `connectionTimeoutMillis`.
 */
export function createIamPool(auth: IamAuth, pgConfig: pg.ClientConfig): pg.Pool {
  const tls = createSharedTls(auth)
  const timeoutMs = pgConfig.connectionTimeoutMillis || undefined

  class IamPooledClient extends pg.Client {
    readonly #tracked: TrackedAttempt

    // pg-pool passes its own options: this adapter's settings plus pool tuning, which pg.Client ignores.
    constructor(poolOptions?: pg.ClientConfig) {
      const tracked = startConnectAttempt(auth)
      const budget = budgetForNextClient
      budgetForNextClient = undefined
      super({
        ...poolOptions,
        password: tracked.attempt.password,
        ssl: tls.options,
        ...(budget === undefined ? {} : { connectionTimeoutMillis: budget }),
      })
      this.#tracked = tracked
    }

    override connect(): Promise<pg.Client>
    override connect(callback: (error: Error) => void): void
    override connect(callback?: (error: Error, client?: pg.Client) => void): Promise<pg.Client> | undefined {
      const startedAt = performance.now()
      const opening = signIn(this, tls, () => super.connect()).then(
        () => this,
        (error: unknown) => {
          if (classifyError(error).kind === 'token-rejected') this.#tracked.invalidateToken()
          if (typeof error === 'object' && error !== null) signInFailures.set(error, startedAt)
          throw error
        },
      )
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
        const startedAt = error && signInFailures.get(error)
        if (startedAt === undefined) return callback(error, client, release)
        this.#retry(error as Error, startedAt).then(
          ({ client, release }) => callback(undefined, client, release),
          (failure: Error) => callback(failure, undefined, noop),
        )
      })
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
            super.connect((error: Error | undefined, client?: pg.PoolClient, release?: () => void) =>
              error ? reject(error) : resolve({ client: client as pg.PoolClient, release: release ?? noop }),
            )
            budgetForNextClient = undefined
          })
        },
        { timeoutMs: left },
      )
    }
  }

  return new IamPool({ ...pgConfig, Client: IamPooledClient })
}
