import {
  authorityExtensions,
  issueCertificate,
  type KeyPairCertificate,
  serverExtensions,
} from '../certificates.js'

/** The certificates an emulated proxy serves: a leaf and its intermediate, under a stand-in Amazon root. */
export interface ProxyCertificates {
  /** PEM of the stand-in root: what a default CA store (which holds Amazon Root CA 1) must trust. */
  ca: string
  /** The root with its key, to hand to another emulated proxy (a Blue/Green twin) or a test's trust setup. */
  root: KeyPairCertificate
  /** The proxy's certificate followed by the intermediate that signed it, as the proxy sends them. */
  cert: string
  key: string
}

/** What the proxy's certificate names, and the root it chains to. */
export interface ProxyCertificateOptions {
  /** Host names and addresses the leaf names; the first is its common name. */
  hosts: string[]
  /** The stand-in root to sign under; by default a new one. */
  root?: KeyPairCertificate
  /** @default 30 */
  validDays?: number
}

// RDS Proxy serves an AWS Certificate Manager certificate: RSA 2048, issued by an Amazon RSA 2048 Mxx intermediate
// under Amazon Root CA 1, which Node's bundled roots hold. The names say they are stand-ins, so a log never passes
// them off as Amazon's.
const ROOT_SUBJECT = { commonName: 'rds-iam emulator stand-in for Amazon Root CA 1', organization: 'rds-iam' }
const INTERMEDIATE_SUBJECT = {
  commonName: 'rds-iam emulator stand-in for Amazon RSA 2048 M02',
  organization: 'rds-iam',
}

/**
 * Makes a stand-in for Amazon Root CA 1 with its key: trust it where a default CA store would trust the real one
 * (NODE_EXTRA_CA_CERTS), and pass it as the `proxy.root` of emulators that should chain to it.
 * @example const root = await createStandInRoot()
 */
export function createStandInRoot(validDays = 30): Promise<KeyPairCertificate> {
  return issueCertificate({
    subject: ROOT_SUBJECT,
    validDays,
    extensions: authorityExtensions(),
    keyType: 'rsa',
  })
}

/**
 * Makes a stand-in for the chain an RDS Proxy presents (root, intermediate, leaf), unlike an RDS instance's,
 * whose certificate the RDS CA signs directly.
 * @example const { ca, cert, key } = await createProxyCertificates({ hosts: ['demo.proxy-abc.us-east-1.rds.amazonaws.com'] })
 */
export async function createProxyCertificates(options: ProxyCertificateOptions): Promise<ProxyCertificates> {
  const [commonName] = options.hosts
  if (commonName === undefined) throw new Error('createProxyCertificates needs at least one host')
  const validDays = options.validDays ?? 30
  const root = options.root ?? (await createStandInRoot(validDays))
  const intermediate = await issueCertificate({
    subject: INTERMEDIATE_SUBJECT,
    validDays,
    extensions: authorityExtensions(0),
    issuer: root,
    keyType: 'rsa',
  })
  const leaf = await issueCertificate({
    subject: { commonName },
    validDays,
    extensions: serverExtensions(options.hosts),
    issuer: intermediate,
    keyType: 'rsa',
  })
  return { ca: root.cert, root, cert: `${leaf.cert.trim()}\n${intermediate.cert.trim()}\n`, key: leaf.key }
}
