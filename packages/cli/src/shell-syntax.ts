/** The shells `rds-iam env` writes for. */
export const SHELLS = ['sh', 'fish', 'powershell'] as const
export type Shell = (typeof SHELLS)[number]

/**
 * Lines that set `variables` when the shell evaluates them, and unset those that are `undefined`; every value is
 * quoted, never interpreted.
 */
export function formatExports(variables: Record<string, string | undefined>, shell: Shell): string {
  const { set, unset } = SYNTAX[shell]
  return Object.entries(variables)
    .map(([name, value]) => `${value === undefined ? unset(name) : set(name, value)}\n`)
    .join('')
}

interface ShellSyntax {
  set(name: string, value: string): string
  unset(name: string): string
}

const SYNTAX: Record<Shell, ShellSyntax> = {
  // POSIX single quotes take everything literally; a quote itself is closed, escaped and reopened.
  sh: {
    set: (name, value) => `export ${name}='${value.replaceAll("'", "'\\''")}'`,
    unset: (name) => `unset ${name}`,
  },
  // fish single quotes only give meaning to \' and \\.
  fish: {
    set: (name, value) => `set -gx ${name} '${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
    unset: (name) => `set -e ${name}`,
  },
  // PowerShell single-quoted strings are literal; a quote is doubled.
  powershell: {
    set: (name, value) => `$env:${name} = '${value.replaceAll("'", "''")}'`,
    unset: (name) => `Remove-Item Env:${name} -ErrorAction SilentlyContinue`,
  },
}
