/** How long a network step waits: a private endpoint behind a missing route never answers at all. */
export const NETWORK_TIMEOUT_MS = 5_000

/** Rejects with an ETIMEDOUT error when `promise` takes longer than NETWORK_TIMEOUT_MS. */
export function withNetworkTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        Object.assign(new Error(`${what} timed out after ${NETWORK_TIMEOUT_MS / 1000} s`), {
          code: 'ETIMEDOUT',
        }),
      )
    }, NETWORK_TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
