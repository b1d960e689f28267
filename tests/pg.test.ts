import { createPool } from '@rds-iam/pg'
import { describeConformance } from './src/conformance'

describeConformance({
  name: 'pg',
  createPool: ({ max, ...config }) => {
    const pool = createPool({ ...config, max })
    return {
      driver: pool,
      query: async (text) => (await pool.query(text)).rows,
      hold: async () => {
        const client = await pool.connect()
        return {
          query: async (text) => (await client.query(text)).rows,
          release: async () => client.release(),
        }
      },
      end: () => pool.end(),
      connectionCount: () => pool.totalCount,
    }
  },
})
