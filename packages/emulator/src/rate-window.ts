/** Admits at most `limit` events in any one second; `null` admits everything. */
export interface RateWindow {
  readonly limit: number | null
  /** Sets the limit and forgets what was admitted so far. */
  setLimit(limit: number | null): void
  /** True (and counts the event) when it is within the limit. */
  admit(): boolean
}

const WINDOW_MS = 1000

export function createRateWindow(): RateWindow {
  let limit: number | null = null
  // Times of the events admitted within the last window.
  let recent: number[] = []
  return {
    get limit() {
      return limit
    },
    setLimit(next) {
      limit = next
      recent = []
    },
    admit() {
      if (limit === null) return true
      // The real clock, not the emulator's: moving the clock must not open or close the window.
      const now = Date.now()
      recent = recent.filter((at) => now - at < WINDOW_MS)
      if (recent.length >= limit) return false
      recent.push(now)
      return true
    },
  }
}
