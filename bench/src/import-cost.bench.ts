// B4: what importing each adapter costs a fresh process over importing its driver alone, and the same with a pool
// created: the AWS SDK and the CA bundle load on the first connect, so neither step should pay for them. The
// verdict is on the process's CPU time (all threads, start to exit), which other work on a shared machine
// disturbs far less than wall time; wall time is shown beside it.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { interleave, median, pairedDifference } from './support/measure'
import { format, verdict } from './support/report'

const run = promisify(execFile)
const rounds = 15
const resolved = (specifier: string) => JSON.stringify(import.meta.resolve(specifier))
const config = `{ host: 'bench.cluster-abc123def456.us-east-1.rds.amazonaws.com', user: 'bench_user', database: 'app' }`

const programs = {
  'import pg': `await import(${resolved('pg')})`,
  'import @rds-iam/pg': `await import(${resolved('@rds-iam/pg')})`,
  'import postgres': `await import(${resolved('postgres')})`,
  'import @rds-iam/postgres': `await import(${resolved('@rds-iam/postgres')})`,
  'import pg, new pg.Pool': `const { default: pg } = await import(${resolved('pg')}); new pg.Pool(${config})`,
  'import @rds-iam/pg, createPool': `const { createPool } = await import(${resolved('@rds-iam/pg')}); createPool(${config})`,
}
type Program = keyof typeof programs

interface ProcessCost {
  wallMs: number
  cpuMs: number
}

async function processCost(code: string): Promise<ProcessCost> {
  const reportCpu = 'const { user, system } = process.cpuUsage(); console.log((user + system) / 1000)'
  const started = performance.now()
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `${code}\n${reportCpu}`], {
    env: { PATH: process.env.PATH },
  })
  return { wallMs: performance.now() - started, cpuMs: Number(stdout.trim()) }
}

const entries = Object.entries(programs) as [Program, string][]
const samples = await interleave(
  Object.fromEntries(entries.map(([name, code]) => [name, () => processCost(code)])) as Record<
    Program,
    () => Promise<ProcessCost>
  >,
  rounds,
  1,
)
const cpu = (name: Program) => median(samples[name].map((sample) => sample.cpuMs))
const wall = (name: Program) => median(samples[name].map((sample) => sample.wallMs))
console.log(`process start with (median of ${rounds})     CPU ms    wall ms`)
for (const [name] of entries) {
  console.log(`  ${name.padEnd(34)} ${format(cpu(name)).padStart(6)}  ${format(wall(name)).padStart(9)}`)
}
const target = { atMost: 15 }
const cpuOver = (name: Program, base: Program) =>
  pairedDifference(
    samples[name].map((sample) => sample.cpuMs),
    samples[base].map((sample) => sample.cpuMs),
  )
verdict('B4', 'import @rds-iam/pg over pg', cpuOver('import @rds-iam/pg', 'import pg'), target, ' ms CPU')
verdict(
  'B4',
  'import @rds-iam/postgres over postgres',
  cpuOver('import @rds-iam/postgres', 'import postgres'),
  target,
  ' ms CPU',
)
verdict(
  'B4',
  'import and createPool over import pg and new pg.Pool',
  cpuOver('import @rds-iam/pg, createPool', 'import pg, new pg.Pool'),
  target,
  ' ms CPU',
)
