import type { Emulator } from '@rds-iam/emulator'
import { expect } from 'vitest'

// Long enough for a closed loopback socket to reach the client on a loaded machine; nothing here races it tightly.
const SOCKET_CLOSE_SETTLES_MS = 500

/**
 * A failover as an ORM sees it: its idle pooled connection is dropped by the server. The process must not crash
 * (an 'error' event nobody listens to would end it, and the test run with it), and the next query must sign in on
 * a new connection.
 */
export async function expectIdleConnectionDropSurvived(
  emulator: Emulator,
  query: () => Promise<unknown>,
): Promise<void> {
  await query()
  const accepted = emulator.stats().accepted
  emulator.dropConnections()
  await new Promise((resolve) => setTimeout(resolve, SOCKET_CLOSE_SETTLES_MS))
  await query()
  expect(emulator.stats().accepted).toBe(accepted + 1)
}
