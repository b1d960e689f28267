import { isIP } from 'node:net'
import { generate } from 'selfsigned'

/** A private CA and one certificate it signed (a server's, or for {@link createClientCertificates} a client's), all PEM. */
export interface ServerCertificates {
  /** The CA certificate: what a client puts in its `ca` (or `sslrootcert`) to trust the server. */
  ca: string
  /** The certificate, signed by `ca`. */
  cert: string
  /** The certificate's private key. */
  key: string
}

/** What the server certificate is valid for. */
export interface CertificateOptions {
  /**
   * Host names and IP addresses the server certificate names; the first is its common name.
   * @example { hosts: ['demo.cluster-abc123def456.us-east-1.rds.amazonaws.com', 'localhost', '127.0.0.1'] }
   */
  hosts: string[]
  /**
   * How long the certificates stay valid.
   * @default 30
   */
  validDays?: number
}

const DAY_MS = 86_400_000
// Backdated a little so a client whose clock runs slightly behind still accepts a certificate made just now.
const BACKDATE_MS = 3_600_000

type Extensions = NonNullable<Parameters<typeof generate>[1]>['extensions']

/** A throwaway CA and one certificate it signed for `commonName`, with `extensions`. */
async function issue(
  commonName: string,
  validDays: number,
  extensions: Extensions,
): Promise<ServerCertificates> {
  const notBeforeDate = new Date(Date.now() - BACKDATE_MS)
  const notAfterDate = new Date(Date.now() + validDays * DAY_MS)
  const common = { keyType: 'ec', algorithm: 'sha256', notBeforeDate, notAfterDate } as const
  const authority = await generate([{ name: 'commonName', value: 'rds-iam emulator CA' }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  })
  const leaf = await generate([{ name: 'commonName', value: commonName }], {
    ...common,
    ca: { key: authority.private, cert: authority.cert },
    extensions,
  })
  return { ca: authority.cert, cert: leaf.cert, key: leaf.private }
}

/**
 * Makes a throwaway CA and a server certificate signed by it, so clients verify the full chain and the host
 * name exactly as they would against RDS, with nothing but the CA to trust.
 *
 * @example
 * const { ca, cert, key } = await createServerCertificates({ hosts: ['localhost', '127.0.0.1'] })
 */
export async function createServerCertificates(options: CertificateOptions): Promise<ServerCertificates> {
  const [commonName] = options.hosts
  if (commonName === undefined) throw new Error('createServerCertificates needs at least one host')
  return issue(commonName, options.validDays ?? 30, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: options.hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
    },
  ])
}

/** Makes a throwaway CA and a client certificate for `commonName` signed by it, all PEM. */
export function createClientCertificates(commonName: string, validDays = 30): Promise<ServerCertificates> {
  return issue(commonName, validDays, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
    { name: 'extKeyUsage', clientAuth: true },
  ])
}
