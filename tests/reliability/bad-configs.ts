import type { AdapterOptions } from '@rds-iam/emulator'

/** A configuration a user could write by mistake, made from a valid one for the emulator. */
export interface BadConfig {
  label: string
  config(valid: AdapterOptions): unknown
  /** Refused as a `config` error when the adapter's object is made, never as late as the first connect. */
  atCreation?: true
}

type Valid = AdapterOptions

// A valid config with one field replaced; `undefined` removes it.
function replacing(field: keyof Valid, value: unknown): (valid: Valid) => unknown {
  return (valid) => {
    const { [field]: _replaced, ...rest } = valid
    return value === undefined ? rest : { ...rest, [field]: value }
  }
}

// A valid config with one `iam` field replaced; `undefined` removes it.
function replacingIam(field: string, value: unknown): (valid: Valid) => unknown {
  return (valid) => {
    const { [field as keyof Valid['iam']]: _replaced, ...iam } = valid.iam
    return { ...valid, iam: value === undefined ? iam : { ...iam, [field]: value } }
  }
}

// Only a connection string says where to go; `{user}`, `{host}` and `{port}` stand for the valid config's. `extra` wins.
function url(template: string, extra: Record<string, unknown> = {}): (valid: Valid) => unknown {
  return (valid) => ({
    ssl: valid.ssl,
    iam: valid.iam,
    connectionString: template
      .replaceAll('{host}', valid.host)
      .replaceAll('{user}', valid.user)
      .replaceAll('{port}', String(valid.port)),
    ...extra,
  })
}

// A valid value of `name` with a control character in it: NUL, CR/LF, another C0 (ESC, TAB) and DEL, inside and at
// the end, as a value read from a file with its line ending or pasted with a stray byte has them.
function controlCharacters(
  name: 'host' | 'user' | 'database' | 'port',
  value: (valid: Valid) => string,
): BadConfig[] {
  const cases: [string, (text: string) => string][] = [
    ['with a NUL byte', (text) => `${text}\u0000x`],
    ['ending in CR LF', (text) => `${text}\r\n`],
    ['ending in a line feed', (text) => `${text}\n`],
    ['with an escape character', (text) => `\u001b${text}`],
    ['with a tab', (text) => `${text}\t`],
    ['with DEL', (text) => `${text}\u007f`],
  ]
  return cases.map(([what, spoil]) => ({
    label: `${name} ${what}`,
    config: (valid) => ({ ...valid, [name]: spoil(value(valid)) }),
    atCreation: true,
  }))
}

const field = (name: keyof Valid, values: [string, unknown][]): BadConfig[] =>
  values.map(([what, value]) => ({ label: `${name} ${what}`, config: replacing(name, value) }))

const iamField = (name: string, values: [string, unknown][]): BadConfig[] =>
  values.map(([what, value]) => ({ label: `iam.${name} ${what}`, config: replacingIam(name, value) }))

const cacheOption = (values: [string, Record<string, unknown>][]): BadConfig[] =>
  values.map(([what, cache]) => ({ label: `iam.cache ${what}`, config: replacingIam('cache', cache) }))

const retryOption = (values: [string, unknown][]): BadConfig[] =>
  values.map(([what, retry]) => ({ label: `iam.retry ${what}`, config: replacingIam('retry', retry) }))

/**
 * Mistakes every adapter must refuse, at creation or at the first connect, with an RdsIamError that has a code and a
 * hint. The environment the test sets names no host, user, profile or keys, so nothing fills in what a case removes.
 */
export const badConfigs: readonly BadConfig[] = [
  { label: 'config null', config: () => null },
  { label: 'config a number', config: () => 42 },
  { label: 'config an array', config: () => [] },
  ...field('host', [
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['blank', '   '],
    ['a number', 42],
    ['a boolean', true],
    ['an object', {}],
    ['an array', ['127.0.0.1']],
    ['a URL', 'postgres://127.0.0.1/postgres'],
    ['with a port', '127.0.0.1:5432'],
    ['with a space', 'my db'],
  ]),
  ...field('port', [
    ['negative', -1],
    ['zero', 0],
    ['above 65535', 65_536],
    ['fractional', 1.5],
    ['a word', 'abc'],
    ['digits then letters', '5432abc'],
    ['empty string', ''],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an object', {}],
    ['a boolean', true],
  ]),
  ...field('user', [
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a number', 42],
    ['an object', {}],
  ]),
  ...field('database', [
    ['a number', 42],
    ['an object', {}],
  ]),
  ...field('ssl', [
    ['disable', 'disable'],
    ['false', false],
    ['an unknown mode', 'bogus'],
    ['a mode with a typo', 'verify_full'],
    ['a number', 42],
    ['an array', []],
    ['with an unknown mode', { mode: 'bogus' }],
    ['with mode disable', { mode: 'disable' }],
    ['with a ca of the wrong type', { ca: 42 }],
    ['with a ca that is no certificate', { ca: 'not a certificate' }],
    ["without the server's CA", { mode: 'verify-full' }],
  ]),
  // The emulator's CA stays in both, so that only the contradiction can make them fail.
  {
    label: 'ssl verify-full but the URL says sslmode=disable',
    config: (valid) =>
      url('postgres://{user}@{host}:{port}/postgres?sslmode=disable', {
        ssl: { ...valid.ssl, mode: 'verify-full' },
      })(valid),
  },
  {
    label: 'ssl disable but the URL says sslmode=verify-full',
    config: (valid) =>
      url('postgres://{user}@{host}:{port}/postgres?sslmode=verify-full', {
        ssl: { ...valid.ssl, mode: 'disable' },
      })(valid),
  },
  { label: 'URL not a URL', config: url('not a url') },
  { label: 'URL without a host', config: url('postgres://') },
  { label: 'URL without a user', config: url('postgres://{host}:{port}/postgres') },
  { label: 'URL with a port that is a word', config: url('postgres://{user}@{host}:notaport/postgres') },
  { label: 'URL with port 99999', config: url('postgres://{user}@{host}:99999/postgres') },
  { label: 'URL with port 0', config: url('postgres://{user}@{host}:0/postgres') },
  { label: 'URL with an unclosed IPv6 bracket', config: url('postgres://{user}@[::1:{port}/postgres') },
  { label: 'URL with a malformed escape in the user', config: url('postgres://%zz@{host}:{port}/postgres') },
  {
    label: 'URL with a malformed escape in sslmode',
    config: url('postgres://{user}@{host}:{port}/postgres?sslmode=%E0%A4%A'),
  },
  {
    label: 'URL with an unknown sslmode',
    config: url('postgres://{user}@{host}:{port}/postgres?sslmode=bogus'),
  },
  {
    label: 'URL with sslmode=disable',
    config: url('postgres://{user}@{host}:{port}/postgres?sslmode=disable'),
  },
  { label: 'URL of another database (mysql://)', config: url('mysql://{user}@{host}:{port}/postgres') },
  { label: 'URL a number', config: url('', { connectionString: 42 }) },
  // Issue 23: control characters anywhere a setting can come from, and URLs that are not postgres:// URLs.
  ...controlCharacters('host', (valid) => valid.host),
  ...controlCharacters('user', (valid) => valid.user),
  ...controlCharacters('database', () => 'postgres'),
  ...controlCharacters('port', (valid) => String(valid.port)),
  {
    label: 'port a string with spaces',
    config: (valid) => ({ ...valid, port: ` ${valid.port} ` }),
    atCreation: true,
  },
  {
    label: 'port a hexadecimal string',
    config: (valid) => ({ ...valid, port: `0x${valid.port.toString(16)}` }),
  },
  {
    label: 'URL with a raw line break',
    config: url('postgres://{user}@{host}:{port}/postgres\n'),
    atCreation: true,
  },
  {
    label: 'URL with a raw NUL in the host',
    config: url('postgres://{user}@{host}\u0000x:{port}/postgres'),
    atCreation: true,
  },
  {
    label: 'URL with an escaped NUL in the user',
    config: url('postgres://{user}%00x@{host}:{port}/postgres'),
  },
  {
    label: 'URL with an escaped CR LF in the database',
    config: url('postgres://{user}@{host}:{port}/db%0D%0A'),
  },
  {
    label: 'URL with an escaped line break in its host parameter',
    config: url('postgres://{user}@{host}:{port}/postgres?host={host}%0A'),
    atCreation: true,
  },
  {
    label: 'URL of another scheme (https://)',
    config: url('https://{user}@{host}:{port}/postgres'),
    atCreation: true,
  },
  { label: 'URL without a scheme', config: url('{user}@{host}:{port}/postgres'), atCreation: true },
  { label: 'URL a socket path', config: url('/var/run/postgresql'), atCreation: true },
  {
    label: 'URL a libpq keyword string',
    config: url('host={host} port={port} user={user}'),
    atCreation: true,
  },
  {
    label: 'URL under `url`, which neither pg nor postgres.js reads',
    config: (valid) => ({ ...valid, url: `postgres://${valid.user}@${valid.host}:${valid.port}/postgres` }),
    atCreation: true,
  },
  {
    label: 'URL of another database under `url`',
    config: (valid) => ({ ...valid, url: `mysql://${valid.user}@${valid.host}:${valid.port}/postgres` }),
    atCreation: true,
  },
  { label: 'URL empty, nothing else', config: url(''), atCreation: true },
  { label: 'iam a number', config: replacing('iam', 42) },
  { label: 'iam a string', config: replacing('iam', 'us-east-1') },
  ...iamField('region', [
    ["not the endpoint's", 'eu-west-1'],
    ['with spaces', 'US EAST 1'],
    ['a number', 42],
    ['empty', ''],
  ]),
  {
    label: 'iam.profile unknown',
    config: (valid) => ({
      ...valid,
      iam: { ...valid.iam, credentials: undefined, profile: 'no-such-profile' },
    }),
  },
  ...iamField('profile', [
    ['empty', ''],
    ['a number', 42],
  ]),
  ...iamField('credentials', [
    ['an empty object', {}],
    ['with an empty secret key', { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: '' }],
    ['a string', 'AKIAIOSFODNN7EXAMPLE:secret'],
    [
      'of an unknown key',
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'unknown-secret-key-0123' },
    ],
    ['a provider resolving nothing', async () => undefined],
    [
      'a provider that throws',
      async () => {
        throw new Error('the test provider has no credentials')
      },
    ],
    ['a provider resolving a numeric key', async () => ({ accessKeyId: 42, secretAccessKey: 'x' })],
    // Refused within iam.credentialsTimeoutMs (5 s by default), well inside the suite's deadline.
    ['a provider that never answers', () => new Promise(() => {})],
  ]),
  ...iamField('credentialsTimeoutMs', [
    ['zero', 0],
    ['negative', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '5000'],
    ['beyond what a timer takes', 2 ** 31],
  ]),
  ...iamField('tokenHost', [
    ['empty', ''],
    ['a URL', 'https://db.cluster-abc123def456.us-east-1.rds.amazonaws.com'],
    ['a number', 42],
    ['another endpoint', 'other.cluster-abc123def456.us-east-1.rds.amazonaws.com'],
  ]),
  ...iamField('tokenPort', [
    ['negative', -5],
    ['a string', '5432'],
    ['above 65535', 70_000],
  ]),
  ...cacheOption([
    ['minRemainingMs negative', { minRemainingMs: -1 }],
    ['minRemainingMs NaN', { minRemainingMs: Number.NaN }],
    ['minRemainingMs a string', { minRemainingMs: '60000' }],
    ['refreshAheadMs negative', { refreshAheadMs: -1 }],
    ['maxEntries negative', { maxEntries: -1 }],
    ['maxEntries zero', { maxEntries: 0 }],
  ]),
  { label: 'iam.cache a number', config: replacingIam('cache', 42) },
  ...retryOption([
    ['maxThrottleMs negative', { maxThrottleMs: -1 }],
    ['baseDelayMs Infinity', { baseDelayMs: Number.POSITIVE_INFINITY }],
    ['a string', 'fast'],
  ]),
  ...iamField('clock', [['without now()', {}]]),
  ...iamField('onEvent', [['not a function', 'yes']]),
  ...iamField('logger', [['a number', 42]]),
]
