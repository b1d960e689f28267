import type * as OtelApi from '@opentelemetry/api'

/** The slice of `@opentelemetry/api` telemetry uses. */
export type Otel = typeof OtelApi

// undefined: not asked for yet, or still loading; null: not installed (or failed to load).
let loaded: Otel | null | undefined
let loading: Promise<Otel | null> | undefined

/**
 * Starts loading `@opentelemetry/api` once per process, the first time an IamAuth is made: an optional peer, so
 * an application without it pays one failed resolution and nothing after. Both forms are ones bundlers follow,
 * and leave to run time when the package is missing: the ES module build imports it, the CommonJS build requires
 * it inside a try block (esbuild refuses to bundle an unresolvable require anywhere else).
 */
export function loadOtel(): Promise<Otel | null> {
  // Written inline, so that each build drops the other branch, and the CommonJS build keeps no require outside the
  // try block (tsup turns an import() there into one).
  loading ??= (
    typeof __RDS_IAM_CJS_BUILD__ === 'boolean' && __RDS_IAM_CJS_BUILD__
      ? Promise.resolve(requireOtel())
      : importOtel()
  ).then((api) => {
    loaded = api
    return api
  })
  return loading
}

/** The API once loaded; undefined while it loads, null when it is not there. */
export function loadedOtel(): Otel | null | undefined {
  return loaded
}

// Set by the build (tsup.config.ts); unset where the sources run as they are (tests), which load ES modules. Asked
// of the build, not of the run time: bundled into a CommonJS file, the ES module build must still import.
declare const __RDS_IAM_CJS_BUILD__: boolean | undefined

function requireOtel(): Otel | null {
  try {
    return require('@opentelemetry/api') as Otel
  } catch {
    return null
  }
}

function importOtel(): Promise<Otel | null> {
  return import('@opentelemetry/api').then(
    (api) => {
      // Loaded as CommonJS through an ES module loader, the namespace may hold the API under `default`.
      const namespace = api as Partial<Otel> & { default?: Otel }
      return namespace.trace ? (namespace as Otel) : (namespace.default ?? null)
    },
    () => null,
  )
}
