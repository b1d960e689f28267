import { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import { beforeEach, describe, expect, it } from 'vitest'
import { type ConnectionFactory, createConnectionHandle } from './connection-handle'
import { createIamAuth } from './create-iam-auth'
import { driverError, FAKE_IDENTITY, RDS_HOST } from './test-helpers'
import { resetTokenCacheForTesting } from './token-cache'

// A stand-in for a driver connection that, like a pg.Client, can be opened only once.
class FakeConnection extends EventEmitter {
  opened = false
  discarded = false
  label: string
  constructor(
    readonly number: number,
    readonly password: () => Promise<string>,
  ) {
    super()
    this.label = `connection ${number}`
  }
  describe(): string {
    return this.label
  }
  // The handle answers connect() itself; the driver's own would open this one object.
  connect(): Promise<this> {
    return Promise.reject(new Error('FakeConnection.connect is never called through the handle'))
  }
}

function harness(failures: Error[]) {
  const made: FakeConnection[] = []
  const passwords: string[] = []
  const factory: ConnectionFactory<FakeConnection> = {
    create: (password) => {
      const connection = new FakeConnection(made.length + 1, password)
      made.push(connection)
      return connection
    },
    async open(connection) {
      passwords.push(await connection.password())
      const failure = failures.shift()
      if (failure) throw failure
      connection.opened = true
    },
    discard: (connection) => {
      connection.discarded = true
    },
  }
  const auth = createIamAuth({ host: RDS_HOST, user: 'app', credentials: FAKE_IDENTITY })
  return { handle: createConnectionHandle(auth, factory, undefined), made, passwords }
}

const rejected = () => driverError('28000', 'PAM authentication failed for user "app"')

beforeEach(() => resetTokenCacheForTesting())

describe('createConnectionHandle', () => {
  it('stands for the first connection when it opens, and is an instance of its class', async () => {
    const { handle, made } = harness([])
    expect(handle).toBeInstanceOf(FakeConnection)
    await expect(handle.connect()).resolves.toBe(handle)
    expect(made).toHaveLength(1)
    expect(handle.describe()).toBe('connection 1')
  })

  it('opens a new connection after a rejected token, moving the listeners and discarding the old one', async () => {
    const { handle, made, passwords } = harness([rejected()])
    const heard: string[] = []
    handle.on('notice', (text: string) => heard.push(text))
    const describeBeforeRetry = handle.describe
    await handle.connect()
    expect(made).toHaveLength(2)
    expect(made[0]?.discarded).toBe(true)
    expect(made[0]?.listenerCount('notice')).toBe(0)
    made[1]?.emit('notice', 'hello')
    expect(heard).toEqual(['hello'])
    expect(handle.opened).toBe(true)
    // A method taken before the retry acts on the connection that opened.
    expect(describeBeforeRetry.call(handle)).toBe('connection 2')
    expect(passwords).toHaveLength(2)
  })

  it('supports the node-style callback of connect()', async () => {
    const { handle } = harness([rejected()])
    const connected = await new Promise((resolve, reject) => {
      ;(handle.connect as unknown as (callback: (error: Error | null, c?: unknown) => void) => void)(
        (error, connection) => (error ? reject(error) : resolve(connection)),
      )
    })
    expect(connected).toBe(handle)
  })

  it('lets an instance function set on the handle win over the class method', async () => {
    const { handle } = harness([])
    handle.describe = () => 'instrumented'
    expect(handle.describe()).toBe('instrumented')
    handle.label = 'relabelled'
    expect(handle.label).toBe('relabelled')
  })

  it('shows the current connection in inspect', async () => {
    const { handle } = harness([rejected()])
    await handle.connect()
    expect(inspect(handle)).toContain("label: 'connection 2'")
  })

  it('hands a second connect() to the connection itself instead of opening another', async () => {
    const { handle, made } = harness([])
    await handle.connect()
    await handle.connect()
    expect(made).toHaveLength(1)
  })
})
