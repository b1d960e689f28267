import type { DetailedPeerCertificate } from 'node:tls'

/** What the server's certificate says about itself and about who issued it. */
export interface CertificateFacts {
  /** DNS names and IP addresses it is valid for. */
  names: string[]
  issuer: string
  /** The end of the chain as verified: the trusted CA that matched, when verification passed. */
  root: string
  validTo: string
}

export function readCertificateFacts(certificate: DetailedPeerCertificate): CertificateFacts {
  const altNames = (certificate.subjectaltname ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((name) => name !== '')
  const commonName = nameOf(certificate.subject)
  const names = altNames.length > 0 ? altNames : commonName ? [commonName] : []
  let root = certificate
  // A self-signed root is its own issuer; the chain ends there.
  while (root.issuerCertificate && root.issuerCertificate !== root) root = root.issuerCertificate
  return {
    names: [...new Set(names)],
    issuer: nameOf(certificate.issuer) ?? 'unknown',
    root: nameOf(root.subject) ?? 'unknown',
    validTo: certificate.valid_to,
  }
}

// A distinguished name's common name, else its organisation; a field that repeats comes as an array.
function nameOf(name: { CN?: string | string[]; O?: string | string[] } | undefined): string | undefined {
  const value = name?.CN ?? name?.O
  return Array.isArray(value) ? value[0] : value
}
