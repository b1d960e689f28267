import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'
import { withNetworkTimeout } from '../network-timeout'
import { tunnelFix } from '../tunnel-fix'

/** The host to dial has an address. */
export const dnsStep: DoctorStep = {
  name: 'dns',
  async run(context) {
    const { host } = context.connection.auth
    if (isIP(host)) return pass(`${host} is an address; nothing to look up`)
    try {
      const addresses = await withNetworkTimeout(lookup(host, { all: true }), `looking up ${host}`)
      return pass(`${host} is ${addresses.map(({ address }) => address).join(', ')}`)
    } catch (error) {
      return fail(
        `${host} does not resolve: ${errorParts(error).summary}`,
        `Check --host. An endpoint in a private VPC resolves only inside it: connect through a VPN, or a tunnel (ssh -L 5432:${host}:5432 <bastion>) with --host 127.0.0.1. ${tunnelFix(host)}`,
      )
    }
  },
}
