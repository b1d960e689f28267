import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'
import { signedInClient } from '../signed-in-client'

/** The user is a member of rds_iam, the grant that makes RDS check a token instead of a password. */
export const rdsIamRoleStep: DoctorStep = {
  name: 'rds_iam',
  target: 'rds',
  async run(context) {
    const { user } = context.connection.auth
    const grant = `As an admin run: GRANT rds_iam TO "${user}";`
    try {
      const { rows } = await signedInClient(context).query<{ member: boolean }>(
        "SELECT pg_has_role(current_user, 'rds_iam', 'MEMBER') AS member",
      )
      if (rows[0]?.member) return pass(`${user} is a member of rds_iam`)
      return fail(`${user} is not a member of rds_iam`, grant)
    } catch (error) {
      return fail(
        `rds_iam membership could not be read: ${errorParts(error).summary}`,
        `The rds_iam role exists only on RDS and Aurora PostgreSQL; check that --host is one. ${grant}`,
      )
    }
  },
}
