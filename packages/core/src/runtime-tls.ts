import type { ConnectionOptions } from 'node:tls'
import { configError } from './errors'

/**
 * Refuses the TLS options the running runtime takes and then does not apply, which would leave a check the caller
 * asked for undone without a word. Measured by tests/runtimes.test.ts on every runtime the README lists: Node and
 * Bun apply all of `ssl`; Deno's node:tls accepts `crl` and ignores it, so a revoked certificate would be trusted.
 */
export function checkRuntimeTlsOptions(own: ConnectionOptions): void {
  const deno = process.versions.deno
  if (deno !== undefined && own.crl !== undefined) {
    throw configError(
      `Deno ${deno} does not apply \`ssl.crl\`: its node:tls ignores certificate revocation lists, so a revoked server certificate would be accepted.`,
      'Run on Node or Bun to check a CRL, or remove ssl.crl if you accept that revocation is not checked on Deno.',
    )
  }
}
