import { randomBytes, randomInt } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { createSecureContext } from 'node:tls'
import { type Authenticator, createAuthenticator, type EmulatorPolicy } from './authenticator.js'
import { createServerCertificates, type KeyPairCertificate, type ServerCertificates } from './certificates.js'
import { type ControlState, createControls, type EmulatorControls } from './controls.js'
import { startDirectLogin } from './direct-login.js'
import { isTakenOver } from './direct-takeover.js'
import {
  createEventRecorder,
  type EmulatorEvent,
  type EmulatorLogger,
  type EmulatorStats,
  type EventRecorder,
} from './events.js'
import type { PostgresConnectionInfo } from './postgres-server.js'
import type { ProxyControls } from './proxy/proxy-mode.js'
import { type Session, startSession } from './session.js'
import type { EmulatorTarget, EmulatorTargetKind, TargetAnswers } from './targets/emulator-target.js'
import { emulatorTargetOf } from './targets/resolve-target.js'
import type { EmulatorCredentials } from './token-validator.js'
import { createUpstream, type Upstream } from './upstream.js'

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * The PostgreSQL behind the emulator: its unix socket folder and port, and a superuser. Its pg_hba.conf must
   * trust `+rds_iam` on the socket, as {@link startPostgres} sets up.
   * @example { upstream: await startPostgres() }
   */
  upstream: PostgresConnectionInfo
  /**
   * What the emulator serves as. `'rds'`: an RDS or Aurora PostgreSQL endpoint (`rds-db` tokens for
   * `endpoint:port` naming their user, members of `rds_iam` sign in with them, other users with their password).
   * `'dsql'`: an Aurora DSQL cluster (`dsql` tokens for the bare endpoint, `DbConnectAdmin` for the built-in
   * `admin` role and `DbConnect` for the others, every role signs in with one, sessions end at
   * `maxSessionAgeMs`, refusals read as DSQL's). `'rds-proxy'`: an RDS Proxy endpoint (the RDS token for the
   * proxy's `endpoint:port`; the proxy's own answers to a rejected token, TLS, throttling, its connection limits
   * (`emulator.proxy`), users without a Secrets Manager secret (those without `rds_iam`) and startup parameters it
   * refuses; `forceSsl` is its Require TLS setting; its certificate chain, a leaf and an intermediate under a
   * stand-in for Amazon Root CA 1, which is `ca`). Needs the relay: not with `direct`.
   * @default 'rds'
   * @example { target: 'dsql' }
   */
  target?: EmulatorTargetKind
  /**
   * With `target: 'rds-proxy'`, the stand-in for Amazon Root CA 1 to issue the chain under, so that several emulated
   * proxies (a Blue/Green twin, another proxy endpoint) chain to one root, or one a test process already trusts in
   * its default store (NODE_EXTRA_CA_CERTS); by default a new one (`emulator.root`).
   * @example { target: 'rds-proxy', proxyRoot: other.root }
   */
  proxyRoot?: KeyPairCertificate
  /**
   * Serves these certificates instead of new ones: the CA and endpoint of another emulator, for a twin that takes
   * over its name and port (a Blue/Green switchover) while clients keep trusting the same CA.
   * @example const certificates = await createServerCertificates({ hosts: [endpoint, '127.0.0.1'] })
   */
  certificates?: ServerCertificates
  /**
   * The host name the emulator serves as: its certificate names it and tokens must be signed for it.
   * @default 'demo.cluster-abc123def456.us-east-1.rds.amazonaws.com' ('abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' for DSQL)
   * @example { endpoint: 'orders.cluster-c9akciq32.eu-west-1.rds.amazonaws.com' }
   */
  endpoint?: string
  /**
   * Region tokens must be signed for; by default the one in `endpoint`, else `us-east-1`.
   * @example { region: 'eu-west-1' }
   */
  region?: string
  /**
   * Port on 127.0.0.1; 0 picks a free one. Tokens are signed for `endpoint:port`.
   * @default 0
   * @example { port: 5433 }
   */
  port?: number
  /**
   * Access key pairs whose tokens are accepted; by default one generated pair (`emulator.credentials`).
   * @example { credentials: [{ accessKeyId: 'ASIA...', secretAccessKey: '...', sessionToken: '...', expiration }] }
   */
  credentials?: EmulatorCredentials[]
  /**
   * Whether an access key may connect as a user, like `rds-db:connect` in an IAM policy; all may by default.
   * @example { policy: ({ user }) => user !== 'admin' }
   */
  policy?: EmulatorPolicy
  /**
   * Aurora DSQL's `AWS IAM GRANT <role> TO '<arn>'`, by access key: a role named here accepts tokens of its keys
   * only; other roles accept every key. The built-in `admin` needs no grant.
   * @example { target: 'dsql', roleGrants: { app_user: [emulator.credentials.accessKeyId] } }
   */
  roleGrants?: Record<string, string[]>
  /**
   * An IAM session is closed this long after it signed in, as Aurora DSQL closes sessions at 60 minutes: set it
   * low to see a pool retire and replace connections. RDS sets no limit.
   * @default 3_600_000 for 'dsql', none for 'rds'
   * @example { target: 'dsql', maxSessionAgeMs: 2_000 }
   */
  maxSessionAgeMs?: number
  /**
   * New IAM logins beyond this many open connections are refused (Aurora DSQL: 53300 "too many open connections",
   * at 10,000 per cluster; RDS: PostgreSQL's 53300).
   * @default 10_000 for 'dsql', none for 'rds' (the upstream's max_connections applies)
   * @example { maxConnections: 5 }
   */
  maxConnections?: number
  /**
   * Tokens are accepted for at most this many seconds after they were signed (RDS: 900; Aurora DSQL: what the
   * token's X-Amz-Expires asks, up to 604800).
   * @default 900 (604800 for 'dsql')
   * @example { tokenLifetimeSeconds: 5 }
   */
  tokenLifetimeSeconds?: number
  /**
   * Offset of the emulator's clock from the machine's.
   * @default 0
   * @example { clockOffsetMs: 16 * 60_000 } // every fresh token is already expired
   */
  clockOffsetMs?: number
  /**
   * How far in the future a token's `X-Amz-Date` may be, for signers whose clock runs ahead.
   * @default 300_000
   * @example { clockSkewMs: 0 }
   */
  clockSkewMs?: number
  /**
   * Users that are not IAM users need TLS too, as RDS for PostgreSQL 15 and later requires by default
   * (`rds.force_ssl=1`); without it they are refused with the pg_hba message. `false` lets them in without TLS,
   * like `rds.force_ssl=0`. IAM users always need TLS.
   * @default true
   * @example { forceSsl: false }
   */
  forceSsl?: boolean
  /**
   * Opens IAM users' sessions on the upstream over TLS (with the upstream's `clientCertificate`), so that SQL
   * sees what it sees on RDS: `pg_stat_ssl.ssl` true and `inet_client_addr()` 127.0.0.1. `false` opens them on
   * the unix socket instead, which costs the relay less CPU on a busy machine (see the README's Speed section).
   * @default true
   * @example { upstreamTls: false }
   */
  upstreamTls?: boolean
  /**
   * How long a client may take from connecting to finishing its login, like PostgreSQL's
   * `authentication_timeout`; past it the connection is closed without an answer, as PostgreSQL closes it.
   * @default 60_000
   * @example { authenticationTimeoutMs: 5_000 }
   */
  authenticationTimeoutMs?: number
  /**
   * Has PostgreSQL itself ask IAM users for their token and check it with the emulator (over LDAP, on 127.0.0.1),
   * instead of the emulator answering the login and then relaying the session. Clients then connect to the
   * upstream's own port, and once in, their queries cost what they cost on any direct TLS connection: for
   * benchmarks and load tests. What differs from the default, so from RDS:
   * - a refused token reads `LDAP authentication failed for user "..."`, where RDS says `PAM authentication
   *   failed` (rds-iam's adapters take either as a rejected token);
   * - `refuseNew`, `throttle`, `dropConnections` and `restart` need the relay and throw; events name no database;
   * - the upstream is taken over until `close()`: its pg_hba.conf sends IAM users to the emulator and it presents
   *   the emulator's certificate (trust `emulator.ca`), so give each direct emulator a PostgreSQL of its own.
   * @default false
   * @example const emulator = await startEmulator({ upstream: await startPostgres(), direct: true })
   */
  direct?: boolean
  /**
   * Called with every event; rejections carry their reason, never the token.
   * @example { onEvent: (event) => events.push(event) }
   */
  onEvent?: (event: EmulatorEvent) => void
  /**
   * Logs every event on one line.
   * @example { logger: console }
   */
  logger?: EmulatorLogger
}

/** What every rds-iam adapter (`createPool`, `createSql`, ...) takes to reach the emulator as one user. */
export interface AdapterOptions {
  host: string
  port: number
  user: string
  database: string
  ssl: { ca: string }
  iam: { tokenHost: string; tokenPort: number; region: string; credentials: EmulatorCredentials }
}

/** A running emulator. Sign tokens for `endpoint:port` in `region`, dial `host:port`, trust `ca`. */
export interface Emulator extends EmulatorControls {
  /** Where clients dial: 127.0.0.1, on the emulator's port, or with `direct` on the upstream PostgreSQL's own. */
  readonly host: string
  readonly port: number
  /** The host name it serves as; use it as the TLS server name and the token host. */
  readonly endpoint: string
  /** What it serves as: `'rds'` or `'dsql'`. */
  readonly target: EmulatorTargetKind
  readonly region: string
  /** PEM of the CA that signed its certificate; as RDS Proxy, the stand-in root above the intermediate. */
  readonly ca: string
  /** As RDS Proxy, the stand-in root with its key, to pass as another emulator's `proxyRoot`. */
  readonly root?: KeyPairCertificate
  /** As RDS Proxy, its own limits and the wording of a rejected token. */
  readonly proxy?: ProxyControls
  /** The first accepted key pair: sign tokens with it. */
  readonly credentials: EmulatorCredentials
  /** The most recent events, oldest first. */
  readonly events: readonly EmulatorEvent[]
  /** Resolves with the first event, already seen or still to come, that matches. */
  waitForEvent(predicate: (event: EmulatorEvent) => boolean, timeoutMs?: number): Promise<EmulatorEvent>
  stats(): EmulatorStats
  /** Closes every client connection at once, authenticated or not, like a failover. Throws with `direct`. */
  dropConnections(): void
  /** Drops every connection, stops listening and listens again on the same port, like a reboot. Throws with `direct`. */
  restart(): Promise<void>
  /** Stops for good. The upstream PostgreSQL is left running. */
  close(): Promise<void>
  /** Creates (or updates) a login role that must use IAM: a member of `rds_iam`. */
  createIamUser(name: string): Promise<void>
  /** Creates (or updates) a login role that uses its password, not IAM. */
  createPasswordUser(name: string, password: string): Promise<void>
  /**
   * Options for an rds-iam adapter: dial the emulator, sign for its RDS name with its key, trust its CA.
   * @example const pool = createPool({ ...emulator.adapterOptions('app_user'), max: 5 })
   */
  adapterOptions(user: string, database?: string): AdapterOptions
  /** Runs SQL on the upstream as its superuser. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]>
}

const LISTEN_HOST = '127.0.0.1'

function generateCredentials(): EmulatorCredentials {
  const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const id = Array.from({ length: 16 }, () => base32[randomInt(base32.length)]).join('')
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64') }
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, LISTEN_HOST, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the emulator is not listening on TCP')
  return address.port
}

// What each way of serving logins provides: where clients dial, and the controls that depend on the way.
type Listener = Pick<
  Emulator,
  'host' | 'port' | 'refuseNew' | 'throttle' | 'dropConnections' | 'restart' | 'close'
>

// What both ways of serving logins share.
interface ListenerContext {
  options: EmulatorOptions
  target: EmulatorTarget
  answers: TargetAnswers
  certificates: ServerCertificates
  controls: ControlState
  recorder: EventRecorder
  upstream: Upstream
  forceSsl: boolean
  /** Checks tokens signed for `endpoint:port` (RDS) or `endpoint` (Aurora DSQL). */
  authenticatorFor(port: number): Authenticator
}

/**
 * Starts a local RDS IAM endpoint in front of `upstream`: real TLS with its own CA, real SigV4 token checks,
 * RDS's own error messages, then the upstream's real session.
 *
 * @example
 * const emulator = await startEmulator({ upstream: postgres })
 * await emulator.createIamUser('app')
 * const token = await new Signer({
 *   hostname: emulator.endpoint, port: emulator.port, username: 'app',
 *   region: emulator.region, credentials: emulator.credentials,
 * }).getAuthToken()
 * const client = new pg.Client({
 *   host: emulator.host, port: emulator.port, user: 'app', password: token, database: 'postgres',
 *   ssl: { ca: emulator.ca, servername: emulator.endpoint },
 * })
 */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const target = emulatorTargetOf(options.target)
  const endpoint = options.endpoint ?? target.defaultEndpoint
  const region = options.region ?? target.regionOf(endpoint) ?? 'us-east-1'
  const credentials = options.credentials ?? [generateCredentials()]
  const [signingCredentials] = credentials
  if (!signingCredentials)
    throw new Error('startEmulator needs at least one access key pair in `credentials`')
  if (options.direct) checkDirectOptions(options)

  const recorder: EventRecorder = createEventRecorder(options)
  const controls = createControls({
    ...options,
    maxTokenLifetimeSeconds: target.tokenRules.maxLifetimeSeconds,
  })
  const forceSsl = options.forceSsl ?? true
  const instance = target.instantiate?.({ forceSsl, maxConnections: options.maxConnections })
  const hosts = [endpoint, 'localhost', LISTEN_HOST]
  const chain = options.certificates ? undefined : await target.issueCertificates?.(hosts, options.proxyRoot)
  const certificates = options.certificates ?? chain ?? (await createServerCertificates({ hosts }))
  // A direct emulator opens no sessions itself, so it needs no TLS context for them.
  const upstream: Upstream = createUpstream(
    options.upstream,
    !options.direct && (options.upstreamTls ?? true),
  )
  const context: ListenerContext = {
    options,
    target,
    answers: instance?.answers ?? target.answers,
    certificates,
    controls,
    recorder,
    upstream,
    forceSsl,
    authenticatorFor: (port) =>
      createAuthenticator({
        rules: target.tokenRules,
        host: target.signedHost(endpoint, port),
        region,
        credentials,
        clockSkewMs: options.clockSkewMs ?? 300_000,
        controls,
        policy: options.policy,
        roleGrants: options.roleGrants,
      }),
  }
  const start = async (): Promise<Listener> => {
    await target.prepareUpstream?.(upstream)
    return options.direct ? startDirect(context) : startRelay(context)
  }
  const listener = await start().catch(async (error: unknown) => {
    await upstream.close()
    throw error
  })
  return {
    ...listener,
    endpoint,
    target: target.kind,
    region,
    ca: certificates.ca,
    ...(chain ? { root: chain.root } : {}),
    ...(instance ? { proxy: instance.controls } : {}),
    credentials: signingCredentials,
    events: recorder.events,
    waitForEvent: recorder.waitForEvent,
    stats: recorder.stats,
    setTokenLifetime: controls.setTokenLifetime,
    setClockOffset: controls.setClockOffset,
    rejectNext: controls.rejectNext,
    delayAuth: controls.delayAuth,
    createIamUser: upstream.createIamUser,
    createPasswordUser: upstream.createPasswordUser,
    adapterOptions: (user, database = 'postgres') => ({
      host: listener.host,
      port: listener.port,
      user,
      database,
      ssl: { ca: certificates.ca },
      iam: { tokenHost: endpoint, tokenPort: listener.port, region, credentials: signingCredentials },
    }),
    query: upstream.query,
  }
}

// Options that only the relay reads would be silently ignored with `direct`: a clear error is better.
function checkDirectOptions(options: EmulatorOptions): void {
  const relayOnly = [
    options.target !== undefined && options.target !== 'rds' && 'target',
    options.maxSessionAgeMs !== undefined && 'maxSessionAgeMs',
    options.maxConnections !== undefined && 'maxConnections',
    options.port !== undefined && options.port !== options.upstream.port && 'port',
    options.upstreamTls !== undefined && 'upstreamTls',
    options.authenticationTimeoutMs !== undefined && 'authenticationTimeoutMs',
  ].filter((name) => typeof name === 'string')
  if (relayOnly.length > 0) {
    throw new Error(
      `\`${relayOnly.join('`, `')}\` cannot be used with \`direct: true\`: a direct emulator's clients connect to the upstream PostgreSQL's own port, and PostgreSQL opens their sessions. Leave it out, or drop \`direct\`.`,
    )
  }
}

async function startRelay(context: ListenerContext): Promise<Listener> {
  const { controls, recorder, upstream } = context
  await refuseDirectUpstream(upstream)
  const secureContext = createSecureContext({
    key: context.certificates.key,
    cert: context.certificates.cert,
  })
  const sessions = new Set<Session>()

  // Half-open connections stay open so that a client that half-closes still receives what it asked for.
  const server = createServer({ allowHalfOpen: true })
  const port = await listen(server, context.options.port ?? 0)
  const { target, options } = context
  const maxConnections = options.maxConnections ?? target.maxConnections ?? Number.POSITIVE_INFINITY
  const sessionContext = {
    secureContext,
    upstream,
    controls,
    forceSsl: context.forceSsl,
    authenticationTimeoutMs: context.options.authenticationTimeoutMs ?? 60_000,
    answers: context.answers,
    openConnections: () => sessions.size,
    iamOnly: target.iamOnly,
    maxSessionAgeMs: options.maxSessionAgeMs ?? target.maxSessionAgeMs,
    // The connection being signed in is counted too.
    atConnectionLimit: () => sessions.size > maxConnections,
    emit: recorder.emit,
    authenticate: context.authenticatorFor(port),
  }
  // A failed accept (out of file descriptors, say) is reported, not thrown at the process.
  server.on('error', (error) =>
    recorder.emit({ type: 'connection-error', message: `listener: ${error.message}` }),
  )
  server.on('connection', (socket: Socket) => {
    if (controls.refusing) {
      recorder.emit({ type: 'connection-refused', remoteAddress: socket.remoteAddress ?? '' })
      socket.destroy()
      return
    }
    const session = startSession(socket, sessionContext)
    sessions.add(session)
    socket.once('close', () => sessions.delete(session))
  })

  let closing: Promise<void> | undefined
  const dropConnections = (): void => {
    for (const session of sessions) session.destroy()
    sessions.clear()
  }
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      dropConnections()
      server.close(() => resolve())
    })

  return {
    host: LISTEN_HOST,
    port,
    refuseNew: controls.refuseNew,
    throttle: controls.throttle,
    dropConnections,
    async restart() {
      if (closing) throw new Error('the emulator was closed')
      await stopListening()
      await listen(server, port)
      recorder.emit({ type: 'restarted', port })
    },
    close() {
      closing ??= stopListening().then(() => upstream.close())
      return closing
    },
  }
}

// An upstream whose pg_hba.conf sends IAM users to a direct emulator's LDAP server would ask the relay's sessions
// for a password again.
async function refuseDirectUpstream(upstream: Upstream): Promise<void> {
  if (await isTakenOver(upstream.query)) {
    throw new Error(
      'This PostgreSQL is taken over by an emulator with `direct: true` (or one that exited without close()): give the relay a PostgreSQL of its own, or close the direct emulator first.',
    )
  }
}

async function startDirect(context: ListenerContext): Promise<Listener> {
  const { upstream: info } = context.options
  const login = await startDirectLogin({
    upstream: info,
    certificates: context.certificates,
    forceSsl: context.forceSsl,
    authenticate: context.authenticatorFor(info.port),
    emit: context.recorder.emit,
  })
  const needsRelay = (name: string) => (): never => {
    throw new Error(
      `\`${name}\` needs the emulator's relay, which a direct emulator does not have: start this emulator without \`direct: true\`.`,
    )
  }
  let closing: Promise<void> | undefined
  return {
    host: info.host,
    port: info.port,
    refuseNew: needsRelay('refuseNew'),
    throttle: needsRelay('throttle'),
    dropConnections: needsRelay('dropConnections'),
    restart: async () => needsRelay('restart')(),
    close() {
      closing ??= login.close().finally(() => context.upstream.close())
      return closing
    },
  }
}
