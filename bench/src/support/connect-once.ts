import type pg from 'pg'
import { type Cost, interleave, measureCost } from './measure'

/** One full connect of a client: connect, `select 1`, end. */
export async function connectClient(client: pg.Client): Promise<void> {
  await client.connect()
  await client.query('select 1')
  await client.end()
}

/** A pool's connect opens a new connection each time: release(true) closes it instead of keeping it idle. */
export async function connectThroughPool(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  await client.query('select 1')
  client.release(true)
}

/** The cost of each variant's connect, `rounds` times, interleaved round by round after two warm-up rounds. */
export function measureConnects<Name extends string>(
  variants: Record<Name, () => Promise<void>>,
  rounds: number,
): Promise<Record<Name, Cost[]>> {
  const entries = Object.entries(variants) as [Name, () => Promise<void>][]
  const measured = Object.fromEntries(entries.map(([name, connect]) => [name, () => measureCost(connect)]))
  return interleave(measured as Record<Name, () => Promise<Cost>>, rounds, 2)
}
