import type * as OtelApi from '@opentelemetry/api'

/** The slice of `@opentelemetry/api` telemetry uses. */
export type Otel = typeof OtelApi

// undefined: not asked for yet, or still loading; null: not installed (or failed to load).
let loaded: Otel | null | undefined
let loading: Promise<Otel | null> | undefined

/**
 * Starts loading `@opentelemetry/api` once per process, the first time an IamAuth is made: an optional peer, so
 * an application without it pays one failed resolution and nothing after. A dynamic import, which bundlers follow
 * (and leave to run time when it is marked external).
 */
export function loadOtel(): Promise<Otel | null> {
  loading ??= import('@opentelemetry/api').then(
    (api) => {
      // The CommonJS build sees the module's namespace, an ES module build may see it under `default`.
      const module = api as Partial<Otel> & { default?: Otel }
      loaded = module.trace ? (module as Otel) : (module.default ?? null)
      return loaded
    },
    () => {
      loaded = null
      return null
    },
  )
  return loading
}

/** The API once loaded; undefined while it loads, null when it is not there. */
export function loadedOtel(): Otel | null | undefined {
  return loaded
}
