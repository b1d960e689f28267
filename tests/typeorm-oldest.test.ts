import { createDataSource } from '@rds-iam/typeorm'
import { expect, it, vi } from 'vitest'
import { describeConformance } from './src/conformance'
import { typeormTarget } from './src/orm-typeorm-target'

// The oldest TypeORM of the peer range (0.3.0): every import of 'typeorm' in this file's module graph, the
// adapter's included, loads that real package instead of the newest, so the same suite runs on both ends. It
// declares its types under a `node` export condition that TypeScript's bundler resolution skips, hence the casts.
vi.mock('typeorm', () => import('typeorm-oldest' as string))

it('the adapter runs on typeorm 0.3.0 here', async () => {
  const oldest = (await import('typeorm-oldest' as string)) as typeof import('typeorm')
  const dataSource = createDataSource({
    type: 'postgres',
    host: 'localhost',
    username: 'nobody',
    ssl: 'require',
  })
  expect(dataSource).toBeInstanceOf(oldest.DataSource)
  const { version } = (await import('typeorm-oldest/package.json' as string)) as { version: string }
  expect(version).toBe('0.3.0')
})

describeConformance(typeormTarget('typeorm_0_3'))
