import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'
import { signedInClient } from '../signed-in-client'

/**
 * Aurora DSQL has no rds_iam: the token's action must fit the role (DbConnectAdmin for admin, DbConnect for the
 * others) and a custom role must be granted to the IAM identity with AWS IAM GRANT. Signing in proved both; this
 * says which of them applied, and what to keep in the IAM policy.
 */
export const dsqlRoleStep: DoctorStep = {
  name: 'dsql_role',
  target: 'dsql',
  async run(context) {
    const action = new URL(`https://${await context.token()}`).searchParams.get('Action')
    try {
      const { rows } = await signedInClient(context).query<{ role: string }>('SELECT current_user AS role')
      const role = rows[0]?.role ?? context.connection.auth.user
      if (action === 'DbConnectAdmin') {
        return pass(`${role} signs in with DbConnectAdmin (the IAM policy allows dsql:DbConnectAdmin)`)
      }
      return pass(
        `${role} signs in with DbConnect: it is granted to this IAM identity (AWS IAM GRANT) and the policy allows dsql:DbConnect`,
      )
    } catch (error) {
      return fail(
        `the role could not be read: ${errorParts(error).summary}`,
        'Check that --host is the Aurora DSQL cluster endpoint (or pass --target dsql for a tunnel or alias).',
      )
    }
  },
}
