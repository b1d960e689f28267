import { beforeEach, describe, expect, it } from 'vitest'
import { createIamAuth } from './create-iam-auth'
import { RdsIamError } from './errors'
import { FAKE_IDENTITY, RDS_HOST } from './test-helpers'
import { resetTokenCacheForTesting } from './token-cache'

const long70 = `app_${'x'.repeat(66)}`
const role63 = long70.slice(0, 63)

async function signedUser(user: string): Promise<string | null> {
  const auth = createIamAuth({ host: RDS_HOST, user, credentials: FAKE_IDENTITY })
  return new URL(`https://${await auth.getToken()}`).searchParams.get('DBUser')
}

beforeEach(() => resetTokenCacheForTesting())

// PostgreSQL keeps a startup user's first 63 bytes and RDS checks the token against what it kept.
describe('the user a token names', () => {
  it('is the user as given up to 63 bytes', async () => {
    expect(await signedUser(role63)).toBe(role63)
    expect(await signedUser('é'.repeat(31))).toBe('é'.repeat(31))
  })

  it("is a longer user's first 63 bytes, the role its session becomes, while the driver still gets the whole name", async () => {
    expect(await signedUser(long70)).toBe(role63)
    const auth = createIamAuth({ host: RDS_HOST, user: long70, credentials: FAKE_IDENTITY })
    expect(auth.user).toBe(long70)
  })

  it('is cut between characters when the 63rd byte ends one', async () => {
    const name = `a${'é'.repeat(40)}`
    expect(await signedUser(name)).toBe(`a${'é'.repeat(31)}`)
  })

  it('shares one token between a long user and its 63-byte role, which are one session user', async () => {
    const options = { host: RDS_HOST, credentials: FAKE_IDENTITY }
    const first = await createIamAuth({ ...options, user: long70 }).getToken()
    expect(await createIamAuth({ ...options, user: role63 }).getToken()).toBe(first)
  })

  it('refuses at creation a user whose 63rd byte is inside a character, which no role can match', () => {
    const create = () =>
      createIamAuth({ host: RDS_HOST, user: `ab${'é'.repeat(40)}`, credentials: FAKE_IDENTITY })
    expect(create).toThrow(RdsIamError)
    expect(create).toThrow(
      /`user` is 82 bytes; PostgreSQL keeps only its first 63, which cut a character in two/,
    )
    let thrown: unknown
    try {
      create()
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'config', hint: expect.stringContaining('pg_roles') })
  })
})
