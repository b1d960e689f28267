const CHECK_INTERVAL_MS = 500

// On POSIX an orphan is handed to another process (init or a subreaper), so its parent id changes; on Windows
// it keeps the id of its dead parent, so that process must also still be there.
function isGone(parent: number): boolean {
  if (process.ppid !== parent) return true
  try {
    process.kill(parent, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/**
 * Calls `onExit` once when the process that started this one is gone, checking twice a second; returns the function
 * that stops watching. For a command that must not outlive what started it: `timeout 60 npx rds-iam-emulator`
 * signals only npx, and a test runner that kills its child kills only the first process of the chain. Closing
 * stdin is no such sign, since a command started with `&` in a script reads /dev/null. The timer does not keep
 * the process alive.
 * @example whenParentExits(() => shutdown(), parentAtStart)
 */
export function whenParentExits(onExit: () => void, parent: number = process.ppid): () => void {
  const timer = setInterval(() => {
    if (!isGone(parent)) return
    clearInterval(timer)
    onExit()
  }, CHECK_INTERVAL_MS)
  timer.unref()
  return () => clearInterval(timer)
}
