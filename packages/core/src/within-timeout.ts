/**
 * Settles as `work` does, or rejects with what `onTimeout` gives once `timeoutMs` passed first. `work` goes on:
 * whoever else holds it still gets its answer.
 */
export function withinTimeout<T>(
  work: Promise<T>,
  timeoutMs: number,
  onTimeout: () => unknown | Promise<unknown>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      Promise.resolve().then(onTimeout).then(reject, reject)
    }, timeoutMs)
  })
  return Promise.race([work, expired]).finally(() => clearTimeout(timer))
}
