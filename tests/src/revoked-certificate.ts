import { webcrypto } from 'node:crypto'
import { isIP } from 'node:net'
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
  X509CrlGenerator,
  X509CrlReason,
} from '@peculiar/x509'
import type { ServerCertificates } from '@rds-iam/emulator'

/** A server certificate its own CA has revoked, and the CA's revocation list that says so, all PEM. */
export interface RevokedCertificate extends ServerCertificates {
  crl: string
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const HOUR_MS = 3_600_000

/** Makes a CA, a server certificate for `hosts` signed by it, and a CRL of that CA that revokes the certificate. */
export async function createRevokedCertificate(hosts: string[]): Promise<RevokedCertificate> {
  const notBefore = new Date(Date.now() - HOUR_MS)
  const notAfter = new Date(Date.now() + 24 * HOUR_MS)
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const caName = 'CN=rds-iam revoking CA'
  const ca = await X509CertificateGenerator.createSelfSigned({
    name: caName,
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ],
  })
  const serverKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const serialNumber = '0a1b2c3d'
  const cert = await X509CertificateGenerator.create({
    serialNumber,
    subject: `CN=${hosts[0]}`,
    issuer: caName,
    notBefore,
    notAfter,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new BasicConstraintsExtension(false),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
      new SubjectAlternativeNameExtension(
        hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host })),
      ),
    ],
  })
  const crl = await X509CrlGenerator.create({
    issuer: caName,
    thisUpdate: notBefore,
    nextUpdate: notAfter,
    // With no reason the library writes an empty list of entry extensions, which BoringSSL (Bun) refuses to parse.
    entries: [{ serialNumber, revocationDate: notBefore, reason: X509CrlReason.keyCompromise }],
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
  })
  const key = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey)).toString('base64')
  return {
    ca: ca.toString('pem'),
    cert: cert.toString('pem'),
    key: `-----BEGIN PRIVATE KEY-----\n${key.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`,
    // OpenSSL reads a CRL only under the PEM label of RFC 7468, which the library does not use.
    crl: crl
      .toString('pem')
      .replaceAll('-----BEGIN CRL-----', '-----BEGIN X509 CRL-----')
      .replaceAll('-----END CRL-----', '-----END X509 CRL-----'),
  }
}
