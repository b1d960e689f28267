import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import { loadDefaultCaCertificates } from '@rds-iam/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliEmulator, startCliEmulator } from './testing/cli-emulator'
import { runCli } from './testing/cli-process'

const suffix = Math.random().toString(16).slice(2, 10)
const user = `proxy_doctor_${suffix}`
const deniedUser = `proxy_denied_${suffix}`
let proxy: CliEmulator
// The CLI's own environment with the stand-in for Amazon Root CA 1 in Node's default store, as a machine's Node
// holds the real one: no --ssl-root-cert anywhere below.
let trusting: NodeJS.ProcessEnv
let rdsBundleFile: string

beforeAll(async () => {
  proxy = await startCliEmulator({ target: 'rds-proxy', policy: ({ user: name }) => name !== deniedUser })
  await proxy.emulator.createIamUser(user)
  await proxy.emulator.createIamUser(deniedUser)
  trusting = { ...proxy.env, NODE_EXTRA_CA_CERTS: proxy.caFile }
  rdsBundleFile = join(proxy.dir, 'rds-ca-bundle.pem')
  const rdsOnly = (await loadDefaultCaCertificates()).filter((pem) => !rootCertificates.includes(pem))
  await writeFile(rdsBundleFile, rdsOnly.join('\n'))
})
afterAll(() => proxy?.close())

interface Step {
  step: string
  status: string
  detail: string
  fix?: string
}

// The emulator's options without the CA file: the proxy is verified against the default store.
function proxyArgs(name: string): string[] {
  const args = proxy.args(name)
  const at = args.indexOf('--ssl-root-cert')
  return [...args.slice(0, at), ...args.slice(at + 2)]
}

async function doctor(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; steps: Step[] }> {
  const result = await runCli(['doctor', '--json', ...args], { env })
  expect(result.stdout).not.toContain('X-Amz-Signature')
  return { code: result.code, steps: (JSON.parse(result.stdout) as { steps: Step[] }).steps }
}

const stepOf = (steps: Step[], name: string): Step | undefined => steps.find((entry) => entry.step === name)

describe('rds-iam doctor against RDS Proxy', () => {
  it('recognises the proxy endpoint and verifies its ACM-like chain with the default store', async () => {
    const { code, steps } = await doctor(proxyArgs(user), trusting)
    expect(steps.filter((entry) => entry.status === 'fail')).toEqual([])
    expect(code).toBe(0)
    expect(stepOf(steps, 'options')?.detail).toContain('an RDS Proxy endpoint')
    expect(stepOf(steps, 'tls')?.detail).toContain(
      'an RDS Proxy certificate issued by "rds-iam emulator stand-in for Amazon RSA 2048 M02" chains to "rds-iam emulator stand-in for Amazon Root CA 1"',
    )
    // Behind a proxy the database sees the proxy sign in (with its Secrets Manager secret): rds_iam is not checked.
    expect(stepOf(steps, 'rds_iam')).toBeUndefined()
  })

  it('fails at tls with the Amazon Root CAs in the fix when the RDS CA bundle is pinned', async () => {
    const { code, steps } = await doctor([...proxyArgs(user), '--ssl-root-cert', rdsBundleFile], trusting)
    expect(code).toBe(1)
    expect(stepOf(steps, 'tls')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('is not trusted'),
      fix: expect.stringContaining('Amazon Root CA 1-4'),
    })
  })

  it("quotes the proxy's own refusal and names its causes when the token is not allowed", async () => {
    const { code, steps } = await doctor(proxyArgs(deniedUser), trusting)
    expect(code).toBe(1)
    const authentication = stepOf(steps, 'authentication')
    expect(authentication?.status).toBe('fail')
    expect(authentication?.detail).toContain(`The IAM authentication failed for the role ${deniedUser}`)
    expect(authentication?.fix).toContain('IAM authentication is enabled on the proxy')
    expect(authentication?.fix).toContain(`dbuser:prx-<proxy resource id>/${deniedUser}`)
  })
})
