/** The longest postgres.js waits, by default here, before it reconnects a connection that closed with an error. */
export const MAX_RECONNECT_DELAY_SECONDS = 2

/**
 * postgres.js's own reconnect delay, (0.5-1) × 3^n / 100 seconds, capped at 2 s instead of its 20 s. It counts n
 * over every connection of one sql that closed with an error since any of them last signed in, so a failover that
 * resets all `max` connections at once sets n to about `max`: a query then handed to one of those connections waits
 * 10-20 s before its connect even starts (outside connect_timeout) while the server has long been back and the
 * other connections work. The cap keeps a long outage to a dial every 1-2 s per connection.
 */
export function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, MAX_RECONNECT_DELAY_SECONDS)
}

/** Whether the user chose a delay: postgres.js reads `backoff` from its options, then the URL, then PGBACKOFF. */
export function choseBackoff(options: object, urlParameters: Record<string, string>): boolean {
  return 'backoff' in options || 'backoff' in urlParameters || Boolean(process.env.PGBACKOFF)
}
