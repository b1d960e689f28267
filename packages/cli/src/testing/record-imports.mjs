// Loaded with --import before the CLI: appends every module URL the process resolves to RECORD_IMPORTS_FILE, so
// a test can tell which dependencies a command loaded.
import { register } from 'node:module'

const hooks = `
import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  appendFileSync(process.env.RECORD_IMPORTS_FILE, resolved.url + '\\n')
  return resolved
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
