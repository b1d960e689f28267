import { createRequire } from 'node:module'
import { startEmulator } from '@rds-iam/emulator'
import { createPool } from '@rds-iam/pg'
import { createPrismaAdapter } from '@rds-iam/prisma'
import type pg from 'pg'
import { expect, inject, it } from 'vitest'
import { generatePrismaClient } from './src/orm-prisma-client'

// pnpm-workspace.yaml gives @prisma/adapter-pg 7 a pg of its own (an override), as npm does when versions do not
// dedupe: the application's pg and the adapter's are two copies.
const require = createRequire(import.meta.url)
const adapterPg = createRequire(require.resolve('@prisma/adapter-pg'))('pg') as typeof pg

it('the adapter here resolves a pg other than the application', () => {
  const adapterPgVersion = createRequire(require.resolve('@prisma/adapter-pg'))('pg/package.json').version
  expect(adapterPgVersion).not.toBe(require('pg/package.json').version)
  // So a Pool of the application's pg is no Pool to the adapter: handed one, it would read it as plain settings.
  expect(createPool({ host: 'localhost', user: 'nobody', ssl: 'require' })).not.toBeInstanceOf(adapterPg.Pool)
})

it('createPrismaAdapter signs in with IAM through the adapter whichever pg it resolves', async () => {
  const emulator = await startEmulator({ upstream: inject('postgres') })
  const generated = await generatePrismaClient('newest')
  try {
    await emulator.createIamUser('prisma_other_pg')
    const accepted = emulator.stats().accepted
    const prisma = new generated.PrismaClient({
      adapter: createPrismaAdapter(emulator.adapterOptions('prisma_other_pg')),
    })
    try {
      expect(await prisma.$queryRawUnsafe('select current_user as who')).toEqual([{ who: 'prisma_other_pg' }])
    } finally {
      await prisma.$disconnect()
    }
    expect(emulator.stats().accepted).toBe(accepted + 1)
  } finally {
    await Promise.all([emulator.close(), generated.dispose()])
  }
}, 60_000)
