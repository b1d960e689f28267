import { createRequire } from 'node:module'

let requireFromCore: NodeJS.Require | undefined

// Synchronous APIs (parsing a URL, reading `ssl`) load their dependencies on first use instead of at import.
export function loadOnFirstUse<T>(specifier: string): T {
  requireFromCore ??= createRequire(import.meta.url)
  return requireFromCore(specifier) as T
}
