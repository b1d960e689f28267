/**
 * Runs the code the READMEs show, as written.
 *
 * Every ```ts / ```js (also typescript, javascript, tsx, jsx, mjs, cjs) block of README.md, packages/*\/README.md
 * and examples/*\/README.md has an HTML comment on the line above it (blank lines between are fine):
 *
 *   <!-- runs: <group>/<file> -->   the block, exactly as shown, is <file> of a project named <group>; this test
 *                                   writes the project's files into this package (so what they import resolves as
 *                                   in a project that installed it) and runs it:
 *                                   - with `*.test.ts` files: `vitest run`, with the project's own
 *                                     `vitest.config.ts` if a block is one, else one with
 *                                     `globalSetup: ['@rds-iam/emulator/vitest']`, as the emulator README says;
 *                                     it must pass at least one test and fail none;
 *                                   - otherwise each file with tsx; it must exit 0.
 *                                   Blocks of one group may sit in different READMEs.
 *   <!-- not run: <why> -->         an excerpt or sketch that cannot run as shown (say, it needs a real RDS
 *                                   endpoint, or it is one option of a longer call); the reason is required.
 *
 * An unmarked block fails the first test below. To add a snippet, mark it; a runnable one becomes a test by itself.
 * Snippets import the built packages, so build first (`pnpm build`), as for the examples.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const packageDir = fileURLToPath(new URL('..', import.meta.url))
const repoDir = join(packageDir, '..', '..')
const CODE_LANGUAGES = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'jsx', 'mjs', 'cjs'])
const MARKER = /^<!--\s*(runs|not run):\s*(.*?)\s*-->$/

interface Snippet {
  /** `README.md:12`, where the block starts. */
  where: string
  marker: { kind: 'runs'; group: string; file: string } | { kind: 'not run'; reason: string } | undefined
  code: string
}

function readmes(): string[] {
  const inFolders = (folder: string): string[] =>
    readdirSync(join(repoDir, folder), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(folder, entry.name, 'README.md'))
  return ['README.md', ...inFolders('packages'), ...inFolders('examples')].filter((path) => {
    try {
      readFileSync(join(repoDir, path))
      return true
    } catch {
      return false
    }
  })
}

function parseMarker(line: string | undefined, where: string): Snippet['marker'] {
  const match = line === undefined ? null : MARKER.exec(line.trim())
  if (!match) return undefined
  const [, kind, value = ''] = match
  if (kind === 'not run') return value === '' ? undefined : { kind, reason: value }
  const slash = value.indexOf('/')
  if (slash <= 0 || slash === value.length - 1)
    throw new Error(`${where}: write <!-- runs: <group>/<file> -->`)
  return { kind: 'runs', group: value.slice(0, slash), file: value.slice(slash + 1) }
}

function snippetsOf(readme: string): Snippet[] {
  const lines = readFileSync(join(repoDir, readme), 'utf8').split('\n')
  const snippets: Snippet[] = []
  for (let index = 0; index < lines.length; index++) {
    const fence = /^```(\w*)/.exec(lines[index]!)
    if (!fence) continue
    const end = lines.findIndex((line, at) => at > index && line.startsWith('```'))
    if (end < 0) throw new Error(`${readme}:${index + 1}: a code block that does not end`)
    if (CODE_LANGUAGES.has(fence[1]!)) {
      const where = `${readme}:${index + 1}`
      const above = lines.slice(0, index).findLast((line) => line.trim() !== '')
      const code = `${lines.slice(index + 1, end).join('\n')}\n`
      snippets.push({ where, marker: parseMarker(above, where), code })
    }
    index = end
  }
  return snippets
}

const snippets = readmes().flatMap(snippetsOf)
const groups = new Map<string, { file: string; snippet: Snippet }[]>()
for (const snippet of snippets) {
  if (snippet.marker?.kind !== 'runs') continue
  const { group, file } = snippet.marker
  groups.set(group, [...(groups.get(group) ?? []), { file, snippet }])
}

// Vitest's own variables would make the inner run think it is a worker of this one.
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VITEST|TEST$)/.test(name)))
}

const tsx = fileURLToPath(import.meta.resolve('tsx'))
const vitest = join(packageDir, 'node_modules', 'vitest', 'vitest.mjs')

async function runGroup(dir: string, files: string[]): Promise<void> {
  if (!files.some((file) => file.endsWith('.test.ts'))) {
    for (const file of files) {
      await run(process.execPath, ['--import', tsx, join(dir, file)], { cwd: dir, env: childEnv() })
    }
    return
  }
  if (!files.includes('vitest.config.ts')) {
    const config = "export default { test: { globalSetup: ['@rds-iam/emulator/vitest'] } }\n"
    await writeFile(join(dir, 'vitest.config.ts'), config)
  }
  const results = join(dir, 'results.json')
  const args = [vitest, 'run', '--root', dir, '--reporter', 'json', '--outputFile', results]
  const exit = await run(process.execPath, args, { cwd: dir, env: childEnv() }).then(
    () => undefined,
    (error: Error & { stderr?: string }) => error,
  )
  const report: VitestReport = JSON.parse(await readFile(results, 'utf8').catch(() => '{}'))
  const failures = (report.testResults ?? []).flatMap((file) => [
    file.message,
    ...file.assertionResults.flatMap((test) => test.failureMessages),
  ])
  if (exit || !report.numPassedTests) {
    throw new Error([...failures.filter(Boolean), exit?.stderr ?? 'no test passed'].join('\n'))
  }
}

// The part of Vitest's JSON report read here.
interface VitestReport {
  numPassedTests?: number
  testResults?: { message: string; assertionResults: { failureMessages: string[] }[] }[]
}

describe('the READMEs', () => {
  it('mark every code block as run by this test, or say why it is not run', () => {
    expect(snippets.length).toBeGreaterThan(10)
    expect(snippets.filter((snippet) => !snippet.marker).map((snippet) => snippet.where)).toEqual([])
  })

  it('give each file of a snippet project once', () => {
    for (const [group, files] of groups) {
      const names = files.map(({ file }) => file)
      expect(names, group).toEqual([...new Set(names)])
    }
  })

  for (const [group, files] of groups) {
    const where = files.map(({ snippet }) => snippet.where).join(', ')
    it(`runs ${group} as written (${where})`, { timeout: 120_000 }, async () => {
      // Inside this package, so the snippets' imports resolve through its node_modules.
      const dir = await mkdtemp(join(packageDir, `.snippet-${group}-`))
      try {
        for (const { file, snippet } of files) {
          await mkdir(dirname(join(dir, file)), { recursive: true })
          await writeFile(join(dir, file), snippet.code)
        }
        await runGroup(
          dir,
          files.map(({ file }) => file),
        ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
          const output = [error.stdout, error.stderr].filter(Boolean).join('\n')
          throw new Error(`${group} (${relative(repoDir, dir)}) failed: ${error.message}\n${output}`)
        })
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
