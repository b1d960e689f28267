/** The shells `rds-iam env` writes for. */
export const SHELLS = ['sh', 'fish', 'powershell'] as const
export type Shell = (typeof SHELLS)[number]

/** Lines that set `variables` when the shell evaluates them; every value is quoted, never interpreted. */
export function formatExports(variables: Record<string, string>, shell: Shell): string {
  const line = LINE_FORMATS[shell]
  return Object.entries(variables)
    .map(([name, value]) => `${line(name, value)}\n`)
    .join('')
}

const LINE_FORMATS: Record<Shell, (name: string, value: string) => string> = {
  // POSIX single quotes take everything literally; a quote itself is closed, escaped and reopened.
  sh: (name, value) => `export ${name}='${value.replaceAll("'", "'\\''")}'`,
  // fish single quotes only give meaning to \' and \\.
  fish: (name, value) => `set -gx ${name} '${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
  // PowerShell single-quoted strings are literal; a quote is doubled.
  powershell: (name, value) => `$env:${name} = '${value.replaceAll("'", "''")}'`,
}
