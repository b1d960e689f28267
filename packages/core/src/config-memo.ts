// Everything an IamAuth reads from the environment when it is made or first used: the libpq variables, and where
// its region and credentials come from.
const ENVIRONMENT = [
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGDATABASE',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
] as const

/** Returns what `make` made for this config object before, or makes it now. */
export type ConfigMemo<T> = (config: object, extra: unknown, make: () => T) => T

interface Remembered<T> {
  said: unknown[]
  value: T
}

/**
 * What was made from `config` (and `extra`, such as a URL passed beside it) the last time, as long as the
 * config's fields, those of its `iam` and `ssl` blocks and the environment still say the same. Objects deeper
 * down (a CA list, credentials) are compared by identity, as the TLS context and token caches already key them.
 * A config changed in between gets a new value.
 */
export function createConfigMemo<T>(): ConfigMemo<T> {
  const remembered = new WeakMap<object, Remembered<T>>()
  return (config, extra, make) => {
    const said = whatConfigSays(config, extra)
    const known = remembered.get(config)
    if (known && sameValues(known.said, said)) return known.value
    const value = make()
    remembered.set(config, { said, value })
    return value
  }
}

// The blocks whose own fields are compared too: a rotated `iam.credentials` or `ssl.ca` is set on the block that
// stays.
const BLOCKS = ['iam', 'ssl'] as const

function whatConfigSays(config: object, extra: unknown): unknown[] {
  const said: unknown[] = [extra]
  for (const [key, value] of Object.entries(config)) said.push(key, value)
  for (const name of BLOCKS) {
    const block: unknown = (config as Record<string, unknown>)[name]
    if (typeof block === 'object' && block !== null) {
      for (const [key, value] of Object.entries(block)) said.push(name, key, value)
    }
  }
  for (const name of ENVIRONMENT) said.push(process.env[name])
  return said
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, index) => Object.is(value, b[index]))
}
