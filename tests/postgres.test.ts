import { createSql } from '@rds-iam/postgres'
import { describeConformance } from './src/conformance'

describeConformance({
  name: 'postgres',
  createPool: (config) => {
    const sql = createSql({ ...config, onnotice: () => {} })
    return {
      query: (text) => sql.unsafe(text),
      hold: async () => {
        const reserved = await sql.reserve()
        return {
          query: (text) => reserved.unsafe(text),
          release: async () => reserved.release(),
        }
      },
      end: () => sql.end({ timeout: 5 }),
    }
  },
})
