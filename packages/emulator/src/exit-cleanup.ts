const cleanups = new Set<() => void>()
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function runCleanups(): void {
  for (const cleanup of cleanups) {
    cleanups.delete(cleanup)
    try {
      cleanup()
    } catch {
      // The process is going away; one failed cleanup must not stop the others.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runCleanups()
  removeHandlers()
  // Listening for a signal replaces Node's default of exiting; when nobody else handles it, exit as Node would.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function addHandlers(): void {
  process.on('exit', runCleanups)
  for (const signal of SIGNALS) process.on(signal, onSignal)
}

function removeHandlers(): void {
  process.off('exit', runCleanups)
  for (const signal of SIGNALS) process.off(signal, onSignal)
}

/**
 * Runs `cleanup` (synchronously) if the process exits or is stopped by SIGINT, SIGTERM or SIGHUP, so a crashed
 * or interrupted run leaves no server or temporary folder behind. Returns the function that unregisters it once
 * the resource was released normally.
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  if (cleanups.size === 0) addHandlers()
  cleanups.add(cleanup)
  return () => {
    cleanups.delete(cleanup)
    if (cleanups.size === 0) removeHandlers()
  }
}
