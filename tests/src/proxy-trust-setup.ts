import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStandInRoot, type KeyPairCertificate } from '@rds-iam/emulator'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The stand-in for Amazon Root CA 1 that every test process trusts in its default CA store. */
    proxyRoot: KeyPairCertificate
  }
}

interface ProvidingProject {
  provide(key: 'proxyRoot', value: KeyPairCertificate): void
}

/**
 * Vitest globalSetup: puts a stand-in for Amazon Root CA 1 into the default CA store of every test process, the way
 * a user's Node already holds the real one: NODE_EXTRA_CA_CERTS, which Node reads when a process starts, so the test
 * workers started after this setup trust it without any `ca` option. Emulators in proxy mode sign under it
 * (`proxy: { root: inject('proxyRoot') }`), so "no extra CA configuration" is tested against Node's own store.
 */
export async function setup(project: ProvidingProject): Promise<() => void> {
  const root = await createStandInRoot()
  const dir = mkdtempSync(join(tmpdir(), 'rds-iam-proxy-root-'))
  const file = join(dir, 'stand-in-amazon-root-ca-1.pem')
  writeFileSync(file, root.cert)
  process.env.NODE_EXTRA_CA_CERTS = file
  project.provide('proxyRoot', root)
  return () => rmSync(dir, { recursive: true, force: true })
}
