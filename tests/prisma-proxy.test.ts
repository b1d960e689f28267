import { afterAll, beforeAll } from 'vitest'
import { type GeneratedClient, generatePrismaClient } from './src/orm-prisma-client'
import { prismaClientTarget } from './src/orm-prisma-target'
import { describeProxyConformance } from './src/proxy-conformance'

let generated: GeneratedClient
beforeAll(async () => {
  generated = await generatePrismaClient('newest')
}, 60_000)
afterAll(() => generated?.dispose())

describeProxyConformance(prismaClientTarget('prisma', () => generated.PrismaClient))
