import type { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import { abortConnectAttempt } from './connect-attempt'
import type { ConnectAttempt, IamAuth } from './types'

/**
 * The connects under way of every handle made with it (the clients of one pool), so that closing the pool fails
 * those still waiting for AWS credentials at once rather than when the provider gives up.
 */
export interface SignInGroup {
  /** Counts `attempt` in until the returned function is called. */
  join(attempt: ConnectAttempt): () => void
  /** Fails every connect of the group that waits for AWS credentials now; later connects are not affected. */
  abortWaiting(): void
}

/**
 * A group for `createConnectionHandle`.
 * @example
 * const group = createSignInGroup()
 * const client = createConnectionHandle(auth, factory, timeoutMs, group)
 * group.abortWaiting() // when the pool of such clients ends
 */
export function createSignInGroup(): SignInGroup {
  const attempts = new Set<ConnectAttempt>()
  return {
    join(attempt) {
      attempts.add(attempt)
      return () => attempts.delete(attempt)
    },
    abortWaiting() {
      for (const attempt of attempts) abortConnectAttempt(attempt)
    },
  }
}

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
  group?: SignInGroup,
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
        const leave = group?.join(next)
        try {
          await factory.open(current)
        } finally {
          leave?.()
        }
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
  const methods = methodsOfClass(Object.getPrototypeOf(current))
  // Functions set on this one handle (a pool's `release`, an instrumentation's wrapper) win over the class's.
  const ownFunctions = new Set<PropertyKey>()
  const handle = new Proxy(target, {
    // The hot path: a method is one map lookup, a field one read of the current connection.
    get(_target, property) {
      if (property === 'connect') return connect
      const method = ownFunctions.has(property) ? undefined : methods.get(property)
      return method ?? (current as Record<PropertyKey, unknown>)[property]
    },
    set(_target, property, value) {
      if (typeof value === 'function') ownFunctions.add(property)
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
  currentOf.set(handle, () => current)
  return handle
}

// Which connection a handle stands for now; read by the class's method table, shared by every handle.
const currentOf = new WeakMap<object, () => object>()
const methodTables = new WeakMap<object, Map<PropertyKey, unknown>>()

// Every method along a connection class's prototype chain, as a function that calls it on the connection its
// handle stands for when called: a method taken before a retry acts on the new connection. Built once per class,
// so opening a connection makes no closures. Called without a handle as `this`, it behaves as the method itself.
function methodsOfClass(prototype: object): Map<PropertyKey, unknown> {
  const known = methodTables.get(prototype)
  if (known) return known
  const methods = new Map<PropertyKey, unknown>()
  for (let proto = prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Reflect.ownKeys(proto)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(proto, name)
      if (name === 'constructor' || methods.has(name) || typeof descriptor?.value !== 'function') continue
      const method = descriptor.value as (...args: unknown[]) => unknown
      methods.set(name, function (this: object, ...args: unknown[]) {
        return Reflect.apply(method, currentOf.get(this)?.() ?? this, args)
      })
    }
  }
  methodTables.set(prototype, methods)
  return methods
}
