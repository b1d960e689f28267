import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const repoDir = fileURLToPath(new URL('../', import.meta.url))
const BUMPS = ['patch', 'minor', 'major'] as const
type Bump = (typeof BUMPS)[number]

interface Changeset {
  file: string
  releases: Record<string, Bump>
  summary: string
}

interface Manifest {
  name: string
  version: string
  private?: boolean
}

let scratch: string
let changesets: Changeset[]
let before: Map<string, Manifest>
let after: Map<string, Manifest>
let fixed: string[][]

async function workspacePackageDirs(root: string): Promise<string[]> {
  const dirs = ['tests', 'bench']
  for (const parent of ['packages', 'examples']) {
    for (const name of await readdir(join(root, parent))) dirs.push(`${parent}/${name}`)
  }
  return dirs
}

async function manifests(root: string): Promise<Map<string, Manifest>> {
  const found = new Map<string, Manifest>()
  for (const dir of await workspacePackageDirs(repoDir)) {
    const manifest = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as Manifest
    found.set(dir, manifest)
  }
  return found
}

function parseChangeset(file: string, text: string): Changeset {
  const [, front = '', summary = ''] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? []
  const releases: Record<string, Bump> = {}
  for (const line of front.split('\n').filter(Boolean)) {
    const [, name, bump] = /^["']?([^"']+)["']?:\s*(\w+)$/.exec(line) ?? []
    if (name === undefined || !BUMPS.includes(bump as Bump)) throw new Error(`${file}: cannot read "${line}"`)
    releases[name] = bump as Bump
  }
  return { file, releases, summary: summary.trim() }
}

function bumped(version: string, bump: Bump | undefined): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number)
  if (bump === 'major') return `${major + 1}.0.0`
  if (bump === 'minor') return `${major}.${minor + 1}.0`
  if (bump === 'patch') return `${major}.${minor}.${patch + 1}`
  return version
}

function highest(bumps: (Bump | undefined)[]): Bump | undefined {
  return bumps.reduce<Bump | undefined>(
    (top, bump) => (bump && (!top || BUMPS.indexOf(bump) > BUMPS.indexOf(top)) ? bump : top),
    undefined,
  )
}

// `changeset version` on a copy of the workspace's manifests and pending changesets, as the release will run it:
// what each package's version and CHANGELOG become, whatever the versions are today.
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rds-iam-release-plan-'))
  for (const file of ['package.json', 'pnpm-workspace.yaml'])
    await cp(join(repoDir, file), join(scratch, file))
  await cp(join(repoDir, '.changeset'), join(scratch, '.changeset'), { recursive: true })
  for (const dir of await workspacePackageDirs(repoDir)) {
    await mkdir(join(scratch, dir), { recursive: true })
    for (const file of ['package.json', 'CHANGELOG.md']) {
      await cp(join(repoDir, dir, file), join(scratch, dir, file)).catch(() => undefined)
    }
  }
  const files = (await readdir(join(repoDir, '.changeset'))).filter(
    (file) => file.endsWith('.md') && file !== 'README.md',
  )
  changesets = await Promise.all(
    files.map(async (file) =>
      parseChangeset(file, await readFile(join(repoDir, '.changeset', file), 'utf8')),
    ),
  )
  ;({ fixed } = JSON.parse(await readFile(join(repoDir, '.changeset/config.json'), 'utf8')) as {
    fixed: string[][]
  })
  before = await manifests(repoDir)
  await run(join(repoDir, 'node_modules/.bin/changeset'), ['version'], { cwd: scratch, timeout: 60_000 })
  after = await manifests(scratch)
}, 90_000)

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

describe('changeset version, as the release runs it', () => {
  it('bumps each published package by its changesets, the fixed group together, and nothing to a major no changeset asks for', () => {
    const groupOf = (name: string): string[] => fixed.find((group) => group.includes(name)) ?? [name]
    const declared = (name: string): Bump | undefined =>
      highest(changesets.map(({ releases }) => releases[name]))
    for (const [dir, old] of before) {
      const next = after.get(dir)
      if (old.private) {
        expect(next?.version, dir).toBe(old.version)
        continue
      }
      const bump = highest(groupOf(old.name).map(declared))
      expect(`${old.name}@${next?.version}`).toBe(`${old.name}@${bumped(old.version, bump)}`)
    }
  })

  it('writes every pending changeset into the CHANGELOG of each package it names, and consumes them all', async () => {
    const dirOf = new Map([...before].map(([dir, manifest]) => [manifest.name, dir]))
    for (const { file, releases, summary } of changesets) {
      for (const name of Object.keys(releases)) {
        const changelog = await readFile(join(scratch, dirOf.get(name) ?? '?', 'CHANGELOG.md'), 'utf8')
        expect(changelog, `${file} in ${name}'s CHANGELOG`).toContain(summary.split('\n')[0])
      }
    }
    expect((await readdir(join(scratch, '.changeset'))).sort()).toEqual(['README.md', 'config.json'])
  })
})
