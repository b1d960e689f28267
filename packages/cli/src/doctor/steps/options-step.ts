import type { IamAuth } from '@rds-iam/core'
import { openConnection } from '../../open-connection'
import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'

// How the report names an endpoint that is not an RDS instance or cluster.
const ENDPOINT_KINDS: Record<Exclude<IamAuth['target'], 'rds'>, string> = {
  dsql: 'an Aurora DSQL cluster',
  'rds-proxy': 'an RDS Proxy endpoint',
}

/** The options, URL and libpq variables together name a host and a user, with valid values. */
export const optionsStep: DoctorStep = {
  name: 'options',
  async run(context) {
    try {
      context.connection = openConnection(context.flags)
    } catch (error) {
      const { summary, hint } = errorParts(error)
      return fail(
        summary,
        hint ?? 'Run rds-iam doctor --help for the options and the variables they default from.',
      )
    }
    const { auth, database } = context.connection
    const tunnel = auth.tokenHost === auth.host ? '' : `, signing for ${auth.tokenHost}:${auth.tokenPort}`
    const kind = auth.target === 'rds' ? '' : `, ${ENDPOINT_KINDS[auth.target]}`
    return pass(
      `${auth.user}@${auth.host}:${auth.port}/${database ?? auth.user}${tunnel}, ssl-mode ${auth.sslMode}${kind}`,
    )
  },
}
