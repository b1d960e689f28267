import { afterAll, beforeAll } from 'vitest'
import { describeConformance } from './src/conformance'
import { type GeneratedClient, generatePrismaClient } from './src/orm-prisma-client'
import { prismaClientTarget } from './src/orm-prisma-target'

let generated: GeneratedClient
beforeAll(async () => {
  generated = await generatePrismaClient('newest')
}, 60_000)
afterAll(() => generated?.dispose())

describeConformance(
  prismaClientTarget('prisma', () => generated.PrismaClient),
  { target: 'dsql' },
)
