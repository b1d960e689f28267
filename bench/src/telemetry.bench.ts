// B1, B6 and B7, for pg and for postgres.js, once for each state of OpenTelemetry an application can be in, each in
// a fresh process: `@opentelemetry/api` absent (its resolution fails, as where it is not installed), present with
// no SDK registered (what a library-only dependency on it gives), and the SDK registered with in-memory exporters. Each
// process measures the adapter against the plain driver side by side, as B1, B6 and B7 do; the verdicts compare
// the states: with the API but no SDK, rds-iam must cost what it costs without the API. The SDK's own cost is
// printed, not judged: it is the price of recording.
import { register } from 'node:module'
import { createIamAuth } from '@rds-iam/core'
import { createClient, createPool } from '@rds-iam/pg'
import { createSql } from '@rds-iam/postgres'
import pg from 'pg'
import postgres from 'postgres'
import {
  adapterOptions,
  type BenchDatabase,
  plainConnection,
  prebuiltTls,
  signerFor,
} from './support/database'
import {
  compareInFreshProcesses,
  cpuMs,
  interleave,
  measureCost,
  median,
  pairedRatio,
} from './support/measure'
import { type OpenPool, openPool, runQueryWindow } from './support/query-load'
import { verdict } from './support/report'

const states = ['api absent', 'api, no SDK', 'SDK, in-memory exporters'] as const
type State = (typeof states)[number]

const connectRounds = 60
const windowPairs = 30
const windowMs = 200
const awaits = 200_000
const handouts = 100_000

interface Ratios {
  /** B1: createClient connect / plain pg.Client connect, client CPU. */
  clientConnect: number
  /** B1: createPool new connection / plain pg.Pool new connection, client CPU. */
  poolConnect: number
  /** B1: createSql's new connection / plain postgres.js's, client CPU. */
  sqlConnect: number
  /** B6: adapter pool throughput / plain pool throughput, paired windows. */
  throughput: number
  /** B6 for postgres.js: createSql / postgres(). */
  sqlThroughput: number
  /** A cached token handed out (`getToken()`), ns: the hooks' own cost, with nothing of a connect around it. */
  tokenNs: number
  /** B7: 200k awaits after the first connect / before. */
  awaitsAfterBefore: number
  /** Spans the SDK exported, to show which state really recorded. */
  spans: number
}

// The API resolves to nothing, as where it is not installed: core's dynamic import then fails once.
const absentHook = `export async function resolve(specifier, context, next) {
  if (specifier === '@opentelemetry/api') {
    throw Object.assign(new Error("Cannot find package '@opentelemetry/api'"), { code: 'ERR_MODULE_NOT_FOUND' })
  }
  return next(specifier, context)
}`

async function setUp(state: State): Promise<() => number> {
  if (state === 'api absent') {
    register(`data:text/javascript,${encodeURIComponent(absentHook)}`)
    const loadable = await import('@opentelemetry/api').then(
      () => true,
      () => false,
    )
    if (loadable) throw new Error('@opentelemetry/api still loads: the absent state would measure nothing')
    return () => 0
  }
  if (state === 'api, no SDK') return () => 0
  const { context, metrics, trace } = await import('@opentelemetry/api')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(
    '@opentelemetry/sdk-trace-base'
  )
  const { InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } =
    await import('@opentelemetry/sdk-metrics')
  const spans = new InMemorySpanExporter()
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }))
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  metrics.setGlobalMeterProvider(
    new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1_000 })],
    }),
  )
  return () => {
    const count = spans.getFinishedSpans().length
    spans.reset() // an exporter that ships its spans keeps no growing list either
    return count
  }
}

async function measure(state: State, database: BenchDatabase): Promise<Ratios> {
  const countSpans = await setUp(state)
  const password = await signerFor(database).getAuthToken()
  const plain = { ...plainConnection(database), password, ssl: prebuiltTls(database) }
  const iamOptions = adapterOptions(database)

  // B7 before anything connects.
  const loop = async (): Promise<void> => {
    let total = 0
    for (let i = 0; i < awaits; i++) total += await Promise.resolve(1)
    if (total !== awaits) throw new Error('the loop was cut short')
  }
  const loopMs = async (): Promise<number> => {
    const times = []
    for (let i = 0; i < 11; i++) times.push(await cpuMs(loop))
    return median(times)
  }
  for (let i = 0; i < 5; i++) await loop()
  const before = await loopMs()

  // B1: connects, side by side with the plain driver.
  let spans = 0
  const connect = async (client: pg.Client): Promise<void> => {
    await client.connect()
    await client.query('select 1')
    await client.end()
  }
  const plainPool = new pg.Pool({ ...plain, max: 1 })
  const iamPool = createPool({ ...iamOptions, max: 1 })
  // One options object, as an application keeps its config: each `sql` made from it shares its IAM set-up.
  const sqlOptions = { ...iamOptions, max: 1 }
  const connectSql = async (sql: postgres.Sql): Promise<void> => {
    await sql`select 1`
    await sql.end()
  }
  const throughPool = async (pool: pg.Pool): Promise<void> => {
    const client = await pool.connect()
    await client.query('select 1')
    client.release(true)
  }
  const samples = await interleave(
    {
      plainClient: () => measureCost(() => connect(new pg.Client(plain))),
      iamClient: () => measureCost(() => connect(createClient(iamOptions))),
      plainPool: () => measureCost(() => throughPool(plainPool)),
      iamPool: () => measureCost(() => throughPool(iamPool)),
      plainSql: () => measureCost(() => connectSql(postgres({ ...plain, max: 1 }))),
      iamSql: () => measureCost(() => connectSql(createSql(sqlOptions))),
    },
    connectRounds,
    3,
  )
  spans += countSpans()
  await Promise.all([plainPool.end(), iamPool.end()])
  const cpu = (name: keyof typeof samples) => samples[name].map((sample) => sample.cpuMs)

  // The token hooks alone: a cached token's handout is all CPU, so their checks are not lost in a connect's noise.
  const { iam, ssl: _ssl, ...where } = iamOptions
  const auth = createIamAuth({ ...where, ...iam })
  await auth.getToken()
  const handoutMs = []
  for (let i = 0; i < 7; i++) {
    handoutMs.push(
      await cpuMs(async () => {
        for (let n = 0; n < handouts; n++) await auth.getToken()
      }),
    )
  }
  spans += countSpans()

  // B6: pooled select 1 in alternating windows, pg then postgres.js; the adapters' pools stay open, so B7's
  // "after" follows.
  const pairedWindows = async (plainLoad: OpenPool, iamLoad: OpenPool): Promise<number> => {
    await runQueryWindow(plainLoad, 500)
    await runQueryWindow(iamLoad, 500)
    const ratios: number[] = []
    for (let pair = 0; pair < windowPairs; pair++) {
      const plainFirst = pair % 2 === 0
      const first = await runQueryWindow(plainFirst ? plainLoad : iamLoad, windowMs)
      const second = await runQueryWindow(plainFirst ? iamLoad : plainLoad, windowMs)
      const [plainWindow, iamWindow] = plainFirst ? [first, second] : [second, first]
      ratios.push(iamWindow.queries / plainWindow.queries)
    }
    return median(ratios)
  }
  const loads = await Promise.all([
    openPool('pg.Pool', database),
    openPool('@rds-iam/pg createPool', database),
    openPool('postgres()', database),
    openPool('@rds-iam/postgres createSql', database),
  ])
  const [plainLoad, iamLoad, plainSqlLoad, iamSqlLoad] = loads
  const throughput = await pairedWindows(plainLoad, iamLoad)
  const sqlThroughput = await pairedWindows(plainSqlLoad, iamSqlLoad)
  const after = await loopMs()
  await Promise.all(loads.map((load) => load.end()))
  spans += countSpans()
  return {
    clientConnect: pairedRatio(cpu('iamClient'), cpu('plainClient')),
    poolConnect: pairedRatio(cpu('iamPool'), cpu('plainPool')),
    sqlConnect: pairedRatio(cpu('iamSql'), cpu('plainSql')),
    throughput,
    sqlThroughput,
    tokenNs: (median(handoutMs) * 1e6) / handouts,
    awaitsAfterBefore: after / before,
    spans,
  }
}

const results = await compareInFreshProcesses(import.meta.url, states, 1, measure)
if (results) {
  const of = (state: State): Ratios => results[state][0] as Ratios
  console.log('adapter / plain driver in each state, one fresh process each')
  console.log(
    '  state                        B1 Client CPU  B1 Pool CPU  B1 sql CPU  B6 pg  B6 postgres.js  B7 awaits  spans  cached getToken()',
  )
  for (const state of states) {
    const r = of(state)
    console.log(
      `  ${state.padEnd(28)} ${r.clientConnect.toFixed(3).padStart(13)} ${r.poolConnect.toFixed(3).padStart(12)} ${r.sqlConnect.toFixed(3).padStart(11)} ${r.throughput.toFixed(3).padStart(6)} ${r.sqlThroughput.toFixed(3).padStart(15)} ${r.awaitsAfterBefore.toFixed(3).padStart(10)} ${String(r.spans).padStart(6)} ${r.tokenNs.toFixed(0).padStart(10)} ns`,
    )
  }
  const absent = of('api absent')
  const noSdk = of('api, no SDK')
  verdict(
    'B1',
    'createClient CPU, API without SDK / API absent',
    noSdk.clientConnect / absent.clientConnect,
    {
      atMost: 1.05,
    },
  )
  verdict('B1', 'createPool CPU, API without SDK / API absent', noSdk.poolConnect / absent.poolConnect, {
    atMost: 1.05,
  })
  verdict('B1', 'createSql CPU, API without SDK / API absent', noSdk.sqlConnect / absent.sqlConnect, {
    atMost: 1.05,
  })
  verdict('B6', 'pg throughput, API without SDK / API absent', noSdk.throughput / absent.throughput, {
    atLeast: 0.98,
  })
  verdict(
    'B6',
    'postgres.js throughput, API without SDK / API absent',
    noSdk.sqlThroughput / absent.sqlThroughput,
    { atLeast: 0.98 },
  )
  verdict(
    'B7',
    'awaits after/before, API without SDK / API absent',
    noSdk.awaitsAfterBefore / absent.awaitsAfterBefore,
    {
      atMost: 1.02,
    },
  )
  console.log(
    `cached getToken(), API without SDK - API absent: ${(noSdk.tokenNs - absent.tokenNs).toFixed(0)} ns (the check that no SDK is registered)`,
  )
  verdict('OTel', 'spans recorded without an SDK', absent.spans + noSdk.spans, { atMost: 0 })
  const sdk = of('SDK, in-memory exporters')
  console.log(
    `with the SDK recording (not judged): B1 Client CPU ${(sdk.clientConnect / absent.clientConnect).toFixed(3)}, B1 Pool CPU ${(sdk.poolConnect / absent.poolConnect).toFixed(3)}, B1 sql CPU ${(sdk.sqlConnect / absent.sqlConnect).toFixed(3)}, B6 pg ${(sdk.throughput / absent.throughput).toFixed(3)}, B6 postgres.js ${(sdk.sqlThroughput / absent.sqlThroughput).toFixed(3)} of the API-absent state; ${sdk.spans} spans`,
  )
}
