import { classifyError, redact } from '@rds-iam/core'
import pg from 'pg'
import { type DoctorStep, fail, pass } from '../doctor-step'

// Long enough for a throttled or busy instance, short enough for a person waiting on the doctor.
const CONNECT_TIMEOUT_MS = 10_000

/** The server accepts the fresh token: one attempt, no retry, so what it says is what the doctor reports. */
export const authenticationStep: DoctorStep = {
  name: 'authentication',
  async run(context) {
    const { auth, database, profile } = context.connection
    const client = new pg.Client({
      host: auth.host,
      port: auth.port,
      user: auth.user,
      database: database ?? auth.user,
      password: await context.token(),
      ssl: context.tlsOptions,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    })
    // A server that drops the session later must not crash the doctor.
    client.on('error', () => {})
    try {
      await client.connect()
    } catch (error) {
      await client.end().catch(() => {})
      const { kind, hint } = classifyError(error, {
        host: auth.host,
        port: auth.port,
        user: auth.user,
        region: auth.region,
        tokenHost: auth.tokenHost,
        profile,
        target: auth.target,
      })
      const { code, message } = error as { code?: string; message?: string }
      return fail(
        `${kind}: the server said ${code ? `${code} ` : ''}${redact(message ?? String(error))}`,
        hint,
      )
    }
    context.client = client
    return pass(`signed in as ${auth.user} with a fresh token`)
  },
}
