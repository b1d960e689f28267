import { beforeEach, describe, expect, it } from 'vitest'
import { startConnectAttempt } from './connect-attempt'
import { createIamAuth } from './create-iam-auth'
import {
  collectEvents,
  createCountingProvider,
  createFakeClock,
  eventsOfType,
  RDS_HOST,
} from './test-helpers'
import { resetTokenCacheForTesting } from './token-cache'
import type { IamAuth } from './types'

beforeEach(() => resetTokenCacheForTesting())

function authWithEvents() {
  const { events, onEvent } = collectEvents()
  const auth = createIamAuth({
    host: RDS_HOST,
    user: 'app_user',
    credentials: createCountingProvider(),
    clock: createFakeClock(),
    onEvent,
  })
  return { auth, count: (type: 'token-generated' | 'token-invalidated') => eventsOfType(events, type).length }
}

describe('startConnectAttempt', () => {
  it('drops the token its connection sent, and not a newer one another retry already made', async () => {
    const { auth, count } = authWithEvents()
    // Two connections that signed in with the same cached token and were both rejected.
    const first = startConnectAttempt(auth)
    const second = startConnectAttempt(auth)
    await first.attempt.password()
    await second.attempt.password()

    first.invalidateToken()
    expect(count('token-invalidated')).toBe(1)
    await auth.getToken()
    expect(count('token-generated')).toBe(2)

    // The second rejection is of the same old token: the fresh one stays cached.
    second.invalidateToken()
    expect(count('token-invalidated')).toBe(1)
    await auth.getToken()
    expect(count('token-generated')).toBe(2)
  })

  it('drops nothing for a connection that never asked for its password', async () => {
    const { auth, count } = authWithEvents()
    await auth.getToken()
    startConnectAttempt(auth).invalidateToken()
    expect(count('token-invalidated')).toBe(0)
  })

  it('refuses an object that createIamAuth did not make', () => {
    expect(() => startConnectAttempt({} as IamAuth)).toThrow(/IamAuth made by createIamAuth/)
  })
})
