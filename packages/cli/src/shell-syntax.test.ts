import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { formatExports } from './shell-syntax'

const run = promisify(execFile)
// Everything a shell could read as syntax: quotes, expansions, command substitution, separators, a newline.
const tricky = `it's "$HOME" \`id\` $(id) \\ & ; | %41 ? *\nnext`

describe('formatExports', () => {
  it.each(['bash', 'dash'])('sets the exact value in %s, and unsets what is undefined', async (shell) => {
    const lines = formatExports({ TRICKY: tricky, PLAIN: 'app', STALE: undefined }, 'sh')
    const { stdout } = await run(
      shell,
      ['-c', `${lines}printf '%s|%s|%s' "$TRICKY" "$PLAIN" "\${STALE-unset}"`],
      {
        env: { ...process.env, STALE: 'from an earlier eval' },
      },
    )
    expect(stdout).toBe(`${tricky}|app|unset`)
  })

  it("writes fish set lines with only \\\\ and \\' escaped", () => {
    expect(formatExports({ TRICKY: "a'b\\c $d", STALE: undefined }, 'fish')).toBe(
      "set -gx TRICKY 'a\\'b\\\\c $d'\nset -e STALE\n",
    )
  })

  it('writes PowerShell $env: lines with quotes doubled', () => {
    expect(formatExports({ TRICKY: "a'b $c `d", STALE: undefined }, 'powershell')).toBe(
      "$env:TRICKY = 'a''b $c `d'\nRemove-Item Env:STALE -ErrorAction SilentlyContinue\n",
    )
  })
})
