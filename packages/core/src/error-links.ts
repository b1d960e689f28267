// Libraries wrap the error that says what happened: Error `cause` (pg-pool, the AWS SDK, Prisma's driver adapter
// errors), Sequelize's `parent` and `original` (the same driver error twice), TypeORM's QueryFailedError
// `driverError`.
const WRAPPING_KEYS: ReadonlySet<PropertyKey> = new Set(['cause', 'original', 'parent', 'driverError'])

// Wrappers seen in the wild nest two or three deep; the bound stops a hostile or accidental chain.
const MAX_WRAPPING_DEPTH = 6

/** Whether the property `key` of an error holds another error it wraps. */
export function isWrappingKey(key: PropertyKey): boolean {
  return WRAPPING_KEYS.has(key)
}

function wrappedErrors(error: object): object[] {
  const found: object[] = []
  for (const key of WRAPPING_KEYS) {
    const value: unknown = (error as Record<PropertyKey, unknown>)[key]
    if (typeof value === 'object' && value !== null) found.push(value)
  }
  return found
}

/**
 * `error` and the errors it wraps, outermost first (breadth first), each once, at most `MAX_WRAPPING_DEPTH`
 * levels deep: the outermost error that says something wins, and a cycle ends the walk.
 */
export function errorChain(error: unknown): object[] {
  if (typeof error !== 'object' || error === null) return []
  const seen = new Set<object>([error])
  let level: object[] = [error]
  for (let depth = 1; depth <= MAX_WRAPPING_DEPTH && level.length > 0; depth++) {
    level = level.flatMap(wrappedErrors).filter((next) => !seen.has(next) && seen.add(next))
  }
  return [...seen]
}
