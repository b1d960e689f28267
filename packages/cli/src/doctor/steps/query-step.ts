import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'
import { signedInClient } from '../signed-in-client'

/** The session answers a query. */
export const queryStep: DoctorStep = {
  name: 'query',
  async run(context) {
    try {
      const { rows } = await signedInClient(context).query<{ database: string; version: string }>(
        "SELECT current_database() AS database, current_setting('server_version') AS version",
      )
      const [row] = rows
      return pass(`database ${row?.database} answers (PostgreSQL ${row?.version})`)
    } catch (error) {
      return fail(
        `a query failed: ${errorParts(error).summary}`,
        'Signing in worked; check that the user may connect to and use this database (GRANT CONNECT, USAGE).',
      )
    }
  },
}
