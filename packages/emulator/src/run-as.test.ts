import { describe, expect, it } from 'vitest'
import { resolveRunAs } from './run-as.js'

describe('resolveRunAs', () => {
  if (process.getuid?.() === 0) {
    it('hands PostgreSQL to the first of the users that exists, as on a machine without a postgres user', async () => {
      expect(await resolveRunAs(['rds-iam-no-such-user', 'nobody'])).toMatchObject({
        user: 'nobody',
        uid: expect.any(Number),
      })
    })

    it('names every user it tried when none exists', async () => {
      await expect(resolveRunAs(['rds-iam-no-such-a', 'rds-iam-no-such-b'])).rejects.toThrow(
        'none of rds-iam-no-such-a, rds-iam-no-such-b exists: create one (useradd --system postgres)',
      )
    })
  } else {
    it('runs PostgreSQL as the current user when it is not root', async () => {
      expect(await resolveRunAs(['rds-iam-no-such-user'])).toBeUndefined()
    })
  }
})
