import { inferRegion } from '@rds-iam/core'
import type { ConnectionFlags } from '../../connection-flags'
import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'

/** A region is known, and it is the one the endpoint's name carries: a token signed for another is rejected. */
export const regionStep: DoctorStep = {
  name: 'region',
  async run(context) {
    const { auth } = context.connection
    if (auth.region === undefined) {
      // Only the profile's config can still name it, and core reads that at the first token.
      const failure = await context.token().then(
        () => undefined,
        (error: unknown) => error,
      )
      if ((failure as { code?: unknown } | undefined)?.code === 'region-missing') {
        const { summary, hint } = errorParts(failure)
        return fail(summary, hint ?? 'Pass --region.')
      }
    }
    const region = auth.region
    if (region === undefined) return pass('from the profile (read with the credentials)')
    const hostRegion = inferRegion(auth.tokenHost)
    const source = regionSource(region, hostRegion, context.flags)
    if (hostRegion !== undefined && hostRegion !== region) {
      return fail(
        `tokens would be signed for ${region} (${source}), but ${auth.tokenHost} is in ${hostRegion}; ${auth.target === 'dsql' ? 'Aurora DSQL' : 'RDS'} rejects them`,
        `Pass --region ${hostRegion}, or drop --region and let the host name decide.`,
      )
    }
    return pass(`${region} (${source})`)
  },
}

function regionSource(region: string, hostRegion: string | undefined, flags: ConnectionFlags): string {
  if (flags.region !== undefined) return 'from --region'
  if (hostRegion === region) return 'from the host name'
  if (process.env.AWS_REGION === region) return 'from AWS_REGION'
  if (process.env.AWS_DEFAULT_REGION === region) return 'from AWS_DEFAULT_REGION'
  return "from the profile's config"
}
