import type pg from 'pg'
import type { DoctorContext } from './doctor-context'

/** The session the authentication step opened; the steps after it run only when it passed. */
export function signedInClient(context: DoctorContext): pg.Client {
  if (!context.client) throw new Error('the authentication step has not passed')
  return context.client
}
