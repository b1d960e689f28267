// B5: a Lambda-style bundle (esbuild, CJS, minified, platform node) of a handler that connects and runs
// `select 1`, through each adapter against the same handler written by hand with the plain driver and
// @aws-sdk/rds-signer. Both verify against the production CA list, so both bundles carry the Amazon RDS CAs.
// Size is compared, and each bundle runs as a fresh process from an empty folder with no node_modules.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { databaseEnv, startBenchDatabase } from './support/database'
import { interleave, medians, pairedRatio, timeMs } from './support/measure'
import { format, printMedians, verdict } from './support/report'

const run = promisify(execFile)
const rounds = 7
const handlersDir = fileURLToPath(new URL('./bundle-handlers/', import.meta.url))
const pairs = [
  { driver: 'pg', plain: 'plain-pg', adapter: 'rds-iam-pg' },
  { driver: 'postgres', plain: 'plain-postgres', adapter: 'rds-iam-postgres' },
] as const
type Handler = (typeof pairs)[number]['plain' | 'adapter']

const outDir = await mkdtemp(join(tmpdir(), 'rds-iam-bench-bundles-'))
const bundles = {} as Record<Handler, { file: string; bytes: number }>
for (const handler of pairs.flatMap(({ plain, adapter }) => [plain, adapter])) {
  const file = join(outDir, `${handler}.cjs`)
  await build({
    entryPoints: [join(handlersDir, `${handler}.ts`)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    logLevel: 'silent',
  })
  bundles[handler] = { file, bytes: (await stat(file)).size }
}

const database = await startBenchDatabase()
const env = {
  PATH: process.env.PATH,
  HOME: outDir,
  AWS_ACCESS_KEY_ID: database.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: database.credentials.secretAccessKey,
  ...databaseEnv(database),
}
const runBundle = (handler: Handler) => () =>
  timeMs(() => run(process.execPath, [bundles[handler].file], { cwd: outDir, env }))
const handlers = Object.keys(bundles) as Handler[]
const samples = await interleave(
  Object.fromEntries(handlers.map((handler) => [handler, runBundle(handler)])) as Record<
    Handler,
    () => Promise<number>
  >,
  rounds,
  1,
)
await database.stop()
await rm(outDir, { recursive: true, force: true })

console.log('bundle size (CJS, minified)')
for (const handler of handlers)
  console.log(`  ${handler.padEnd(17)} ${format(bundles[handler].bytes / 1024).padStart(6)} KiB`)
const ms = medians(samples)
printMedians('bundled run: process start, connect, select 1, end', ms, 'ms', rounds)
for (const { driver, plain, adapter } of pairs) {
  verdict('B5', `${driver} bundle size / hand-written`, bundles[adapter].bytes / bundles[plain].bytes, {
    atMost: 1.05,
  })
  console.log(
    `B5 ${driver} bundled run / hand-written: ${format(pairedRatio(samples[adapter], samples[plain]))}`,
  )
}
