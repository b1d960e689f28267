import type { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import type { ConnectAttempt, IamAuth } from './types'

/** How a driver's connection object is made, opened and thrown away; what `createConnectionHandle` needs. */
export interface ConnectionFactory<C extends EventEmitter> {
  /** A new, unopened connection whose password hook calls `password` (once it is opened). */
  create(password: () => Promise<string>, timeoutMs: number | undefined): C
  /** Opens it. */
  open(connection: C): Promise<unknown>
  /** Releases what a failed connection still holds; it will never be used again. */
  discard(connection: C): void
}

type ConnectCallback<C> = (error: Error | null, connection?: C) => void

/**
 * For adapters whose driver cannot open one connection object twice (node-postgres: "a Client cannot be
 * reused"): every attempt gets a new connection object, and the handle the application holds forwards to the
 * current one. Its `connect()` (promise or node-style callback) is the retried connect; the application's event
 * listeners move along to each new attempt. Methods run with the real connection as `this`, so once it is open
 * its queries run the driver's own code with no forwarding inside.
 * @example
 * const client = createConnectionHandle(auth, pgClientFactory, config.connectionTimeoutMillis)
 * await client.connect()
 */
export function createConnectionHandle<C extends EventEmitter>(
  auth: IamAuth,
  factory: ConnectionFactory<C>,
  timeoutMs: number | undefined,
): C {
  let attempt: ConnectAttempt | undefined
  const password = (): Promise<string> => {
    if (!attempt) throw new Error('The connection asked for a password outside of connect().')
    return attempt.password()
  }
  let current = factory.create(password, timeoutMs)
  let opened = false
  let started = false

  function replaceWith(next: C): void {
    const abandoned = current
    for (const name of abandoned.eventNames()) {
      for (const listener of abandoned.rawListeners(name))
        next.on(name, listener as (...args: unknown[]) => void)
    }
    abandoned.removeAllListeners()
    factory.discard(abandoned)
    current = next
  }

  async function openWithRetry(): Promise<C> {
    await auth.retry(
      async (next) => {
        if (opened) replaceWith(factory.create(password, next.remainingMs()))
        opened = true
        attempt = next
        await factory.open(current)
      },
      { timeoutMs },
    )
    return handle
  }

  function connect(callback?: ConnectCallback<C>): Promise<C> | undefined {
    // A second connect() goes to the driver, which refuses it the way it refuses reusing a connection.
    const opening = started ? factory.open(current).then(() => handle) : openWithRetry()
    started = true
    if (!callback) return opening
    opening.then((connection) => callback(null, connection), callback)
    return undefined
  }

  // The proxy's own target only answers `instanceof` and `inspect`; everything else is the current connection's.
  const target = Object.create(Object.getPrototypeOf(current), {
    [inspect.custom]: {
      configurable: true,
      value: (_depth: number, options: object) => inspect(current, options),
    },
  }) as C
  const methods = methodsOf(current, connect, () => current)
  const handle = new Proxy(target, {
    // The hot path: a method is one map lookup, a field one read of the current connection.
    get: (_target, property) => methods.get(property) ?? (current as Record<PropertyKey, unknown>)[property],
    set(_target, property, value) {
      // An instance's own function (a pool's `release`, an instrumentation's wrapper) wins over the class's.
      methods.delete(property)
      return Reflect.set(current, property, value, current)
    },
    has: (_target, property) => Reflect.has(current, property),
    deleteProperty: (_target, property) => Reflect.deleteProperty(current, property),
    ownKeys: () => Reflect.ownKeys(current),
    getOwnPropertyDescriptor(_target, property) {
      const descriptor = Reflect.getOwnPropertyDescriptor(current, property)
      // A proxy may only report a property its target lacks as configurable.
      return descriptor && { ...descriptor, configurable: true }
    },
    defineProperty: (_target, property, descriptor) => Reflect.defineProperty(current, property, descriptor),
  })
  return handle
}

// Every method along the connection's prototype chain, as a function that calls it on whichever connection is
// current: a method taken before a retry acts on the new connection. Built once per handle.
function methodsOf<C extends object>(
  connection: C,
  connect: (...args: never[]) => unknown,
  current: () => C,
): Map<PropertyKey, unknown> {
  const methods = new Map<PropertyKey, unknown>()
  for (
    let proto = Object.getPrototypeOf(connection);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Reflect.ownKeys(proto)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(proto, name)
      if (name === 'constructor' || methods.has(name) || typeof descriptor?.value !== 'function') continue
      const method = descriptor.value as (...args: unknown[]) => unknown
      methods.set(name, (...args: unknown[]) => Reflect.apply(method, current(), args))
    }
  }
  methods.set('connect', connect)
  return methods
}
