import { isIP } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { classifyError, type IamAuth, inferRegion } from '@rds-iam/core'
import { readCertificateFacts } from '../certificate-facts'
import { type DoctorStep, fail, pass, type StepOutcome, warn } from '../doctor-step'
import { errorParts } from '../error-parts'
import { NETWORK_TIMEOUT_MS } from '../network-timeout'
import { postgresTlsHandshake } from '../postgres-tls-handshake'
import { tunnelFix } from '../tunnel-fix'

/**
 * The server speaks TLS and its certificate verifies under core's policy: which CA it chains to, whether it
 * names the token host, and whether a tunnel is dialed without naming the endpoint it leads to.
 */
export const tlsStep: DoctorStep = {
  name: 'tls',
  async run(context) {
    const { auth } = context.connection
    let socket: TLSSocket
    try {
      context.tlsOptions = await auth.tls()
      socket = await postgresTlsHandshake(auth.host, auth.port, context.tlsOptions, NETWORK_TIMEOUT_MS)
    } catch (error) {
      const { summary, hint } = errorParts(error)
      const fix =
        (error as { code?: unknown }).code === 'NO_TLS'
          ? `${serviceName(auth)} always offers TLS: check that --host and --port lead to its endpoint, and that a tunnel forwards to it.`
          : (hint ?? classifyError(error, { host: auth.host, port: auth.port }).hint)
      return fail(summary, fix)
    }
    try {
      return judgeCertificate(auth, socket)
    } finally {
      socket.destroy()
    }
  },
}

// RDS Proxy presents an AWS Certificate Manager certificate: an intermediate under one of these.
const AMAZON_ROOT = /Amazon Root CA [1-4]/

function judgeCertificate(auth: IamAuth, socket: TLSSocket): StepOutcome {
  const facts = readCertificateFacts(socket.getPeerCertificate(true))
  const names = facts.names.join(', ')
  const protocol = socket.getProtocol()
  if (auth.sslMode === 'require') {
    return warn(
      `${protocol}; the certificate (for ${names}) is not verified (ssl-mode require)`,
      'Anyone between you and the server could present a certificate and take the token: keep the default verify-full, with --ssl-root-cert for a private CA.',
    )
  }
  const endpoint = facts.names.find((name) => inferRegion(name) !== undefined)
  if (!socket.authorized) {
    const reason = String(socket.authorizationError)
    if (reason === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return fail(
        `the certificate is for ${names}, not for ${auth.tokenHost} (${reason})`,
        endpoint
          ? tunnelFix(endpoint)
          : 'Connect to a name the certificate is for; dialing a tunnel or alias, pass that name as --token-host.',
      )
    }
    const untrusted = `the certificate for ${facts.names[0] ?? 'the server'}, issued by "${facts.issuer}", is not trusted (${reason})`
    if (auth.target === 'rds-proxy') {
      // Core's hint for a proxy certificate: the Amazon Root CAs, not the RDS bundle.
      return fail(untrusted, classifyError({ code: reason }, { tokenHost: auth.tokenHost }).hint)
    }
    return fail(
      untrusted,
      `Pass the PEM file of the CA that issued it with --ssl-root-cert (or PGSSLROOTCERT). ${auth.target === 'dsql' ? "Aurora DSQL certificates chain to Amazon Root CA 1, among Node's roots" : 'RDS certificates chain to the Amazon RDS CAs of the default bundle (see rds-iam ca)'}; if this is ${serviceName(auth)}, something between you and it presents its own certificate.`,
    )
  }
  if (dialsLocally(auth) && endpoint !== undefined) {
    return fail(
      `dialing ${auth.host} without --token-host, but the server's certificate is for ${endpoint}: tokens would be signed for ${auth.host}, which ${serviceName(auth)} rejects`,
      tunnelFix(endpoint),
    )
  }
  if (auth.target === 'rds-proxy' && !AMAZON_ROOT.test(facts.root)) {
    return warn(
      `the RDS Proxy certificate chains to "${facts.root}", not to an Amazon Root CA`,
      'RDS Proxy certificates come from AWS Certificate Manager and chain to Amazon Root CA 1-4: check that --host leads to the proxy, and that nothing between you and it presents its own certificate.',
    )
  }
  const identity =
    auth.sslMode === 'verify-ca'
      ? 'the host name is not checked (ssl-mode verify-ca)'
      : `it names ${auth.tokenHost}`
  const kind =
    auth.target === 'rds-proxy' ? `an RDS Proxy certificate issued by "${facts.issuer}"` : 'the certificate'
  return pass(`${protocol}; ${kind} chains to "${facts.root}" and ${identity}; valid until ${facts.validTo}`)
}

function serviceName(auth: IamAuth): string {
  return auth.target === 'dsql' ? 'Aurora DSQL' : 'RDS'
}

// A tunnel's local end: the token host is then the dialed address unless --token-host names the endpoint.
function dialsLocally(auth: IamAuth): boolean {
  return auth.tokenHost === auth.host && (isIP(auth.host) !== 0 || auth.host === 'localhost')
}
