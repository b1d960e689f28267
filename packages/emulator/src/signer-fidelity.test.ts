import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from './start-emulator.js'
import {
  clientConfig,
  connectError,
  expectConnects,
  signToken,
  startTestEmulator,
  uniqueName,
} from './testing/emulator-fixtures.js'
import {
  signGoStyle,
  signWithAwsCli,
  signWithBotocore,
  type TokenRequest,
} from './testing/official-signers.js'

const user = uniqueName('signer_user')
let emulator: Emulator

beforeAll(async () => {
  emulator = await startTestEmulator()
  await emulator.createIamUser(user)
})

afterAll(() => emulator?.close())

type Signer = (request: TokenRequest) => Promise<string>
const signers: [string, Signer][] = [
  [
    '@aws-sdk/rds-signer',
    (request) =>
      signToken(emulator, request.user, { hostname: request.hostname, credentials: request.credentials }),
  ],
  ['botocore', signWithBotocore],
  ['aws rds generate-db-auth-token', signWithAwsCli],
  ['the Go SDK v2 shape', async (request) => signGoStyle(request)],
]

// How people type an endpoint they copied from the console or a config file.
const spellings: [string, (endpoint: string) => string][] = [
  ['lower case', (endpoint) => endpoint],
  ['mixed case', (endpoint) => endpoint.replace(/^demo\.cluster/, 'Demo.Cluster').replace('.rds.', '.RDS.')],
  ['upper case', (endpoint) => endpoint.toUpperCase()],
]

function requestFor(endpoint: string, emulatorToSign: Emulator = emulator): TokenRequest {
  return {
    hostname: endpoint,
    port: emulatorToSign.port,
    region: emulatorToSign.region,
    user,
    credentials: emulatorToSign.credentials,
  }
}

describe.each(signers)('a token from %s', (_, sign) => {
  it.each(spellings)('is accepted for the endpoint typed in %s', async (__, spell) => {
    const token = await sign(requestFor(spell(emulator.endpoint)))
    await expectConnects(emulator, user, token)
  })

  it('is refused when signed by an unknown key', async () => {
    const credentials = { accessKeyId: 'AKIAUNKNOWNSIGNER000', secretAccessKey: 'not-the-emulators' }
    const token = await sign({ ...requestFor(emulator.endpoint), credentials })
    const error = await connectError(clientConfig(emulator, user, token))
    expect(error.message).toBe(`PAM authentication failed for user "${user}"`)
  })
})

describe('the host a token was signed for', () => {
  it('is checked as signed: a token whose host was re-cased after signing is refused', async () => {
    const token = await signToken(emulator, user, {
      hostname: 'Demo.Cluster-Abc123def456.us-east-1.rds.amazonaws.com',
    })
    const recased = token.replace(/^[^:]+/, (host) => host.toLowerCase())
    const error = await connectError(clientConfig(emulator, user, recased))
    expect(error.code).toBe('28000')
    await emulator.waitForEvent((event) => event.type === 'auth-rejected' && event.reason === 'signature')
  })

  it('accepts the AWS CLI command the emulator command line prints for an endpoint typed in mixed case', async () => {
    const mixed = await startTestEmulator({
      endpoint: 'Orders.Cluster-C9akciq32.EU-West-1.rds.amazonaws.com',
    })
    try {
      await mixed.createIamUser(user)
      const token = await signWithAwsCli(requestFor(mixed.endpoint, mixed))
      await expectConnects(mixed, user, token)
      expect(mixed.region).toBe('eu-west-1')
    } finally {
      await mixed.close()
    }
  })
})
