// B4: what importing each adapter costs a fresh process over importing its driver alone, and the same with a pool
// created: the AWS SDK and the CA bundle load on the first connect, so neither step should pay for them.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { interleave, medians, timeMs } from './support/measure'
import { printMedians, verdict } from './support/report'

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

// Wall time of a whole process, so module loading is measured as a service feels it at startup.
const processMs = (code: string) => () =>
  timeMs(() =>
    run(process.execPath, ['--input-type=module', '-e', code], { env: { PATH: process.env.PATH } }),
  )
const entries = Object.entries(programs) as [Program, string][]
const samples = await interleave(
  Object.fromEntries(entries.map(([name, code]) => [name, processMs(code)])) as Record<
    Program,
    () => Promise<number>
  >,
  rounds,
  1,
)
const ms = medians(samples)
printMedians('process start with', ms, 'ms', rounds)
const target = { atMost: 15 }
verdict('B4', 'import @rds-iam/pg over pg', ms['import @rds-iam/pg'] - ms['import pg'], target, ' ms')
verdict(
  'B4',
  'import @rds-iam/postgres over postgres',
  ms['import @rds-iam/postgres'] - ms['import postgres'],
  target,
  ' ms',
)
verdict(
  'B4',
  'import and createPool over import pg and new pg.Pool',
  ms['import @rds-iam/pg, createPool'] - ms['import pg, new pg.Pool'],
  target,
  ' ms',
)
