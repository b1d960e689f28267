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

/** A certificate and its private key, PEM. */
export interface KeyPairCertificate {
  cert: string
  key: string
}

/** What {@link issueCertificate} makes: who it names, for how long, with which extensions, signed by whom. */
export interface IssueOptions {
  subject: { commonName: string; organization?: string; country?: string }
  validDays: number
  extensions: Extensions
  /** Signs the certificate; left out, it signs itself (a root). */
  issuer?: KeyPairCertificate
  keyType?: 'ec' | 'rsa'
}

/** One certificate, backdated a little so a client whose clock runs slightly behind accepts it at once. */
export async function issueCertificate(options: IssueOptions): Promise<KeyPairCertificate> {
  const { subject, issuer } = options
  const attributes = [
    ...(subject.country === undefined ? [] : [{ name: 'countryName', value: subject.country }]),
    ...(subject.organization === undefined
      ? []
      : [{ name: 'organizationName', value: subject.organization }]),
    { name: 'commonName', value: subject.commonName },
  ]
  const generated = await generate(attributes, {
    keyType: options.keyType ?? 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - BACKDATE_MS),
    notAfterDate: new Date(Date.now() + options.validDays * DAY_MS),
    extensions: options.extensions,
    ...(issuer === undefined ? {} : { ca: { key: issuer.key, cert: issuer.cert } }),
  })
  return { cert: generated.cert, key: generated.private }
}

/** The extensions of a certificate authority; `pathLenConstraint` 0 for one that signs only leaves. */
export const authorityExtensions = (pathLenConstraint?: number): Extensions => [
  {
    name: 'basicConstraints',
    cA: true,
    critical: true,
    ...(pathLenConstraint === undefined ? {} : { pathLenConstraint }),
  },
  { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
]

/** The extensions of a TLS server certificate for `hosts` (names and IP addresses). */
export const serverExtensions = (hosts: readonly string[]): Extensions => [
  { name: 'basicConstraints', cA: false },
  { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
  { name: 'extKeyUsage', serverAuth: true },
  {
    name: 'subjectAltName',
    altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
  },
]

/** A throwaway CA and one certificate it signed for `commonName`, with `extensions`. */
async function issue(
  commonName: string,
  validDays: number,
  extensions: Extensions,
): Promise<ServerCertificates> {
  const authority = await issueCertificate({
    subject: { commonName: 'rds-iam emulator CA' },
    validDays,
    extensions: authorityExtensions(),
  })
  const leaf = await issueCertificate({ subject: { commonName }, validDays, extensions, issuer: authority })
  return { ca: authority.cert, cert: leaf.cert, key: leaf.key }
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
  return issue(commonName, options.validDays ?? 30, serverExtensions(options.hosts))
}

/** Makes a throwaway CA and a client certificate for `commonName` signed by it, all PEM. */
export function createClientCertificates(commonName: string, validDays = 30): Promise<ServerCertificates> {
  return issue(commonName, validDays, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
    { name: 'extKeyUsage', clientAuth: true },
  ])
}
