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
        // A checked-out pg client has no error listener; a server that drops it must fail its next query, not
        // crash the test process.
        client.on('error', () => {})
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
