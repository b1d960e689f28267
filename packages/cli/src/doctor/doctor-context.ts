import type { ConnectionOptions } from 'node:tls'
import type pg from 'pg'
import type { ConnectionFlags } from '../connection-flags'
import type { Connection } from '../open-connection'

/** What the steps learn and hand on to the steps after them. */
export class DoctorContext {
  private openedConnection: Connection | undefined
  private tokenAttempt: Promise<string> | undefined
  /** The TLS options core gives drivers, once the TLS step has built them. */
  tlsOptions: ConnectionOptions | undefined
  /** The signed-in session, once authentication passed; the doctor ends it. */
  client: pg.Client | undefined

  constructor(readonly flags: ConnectionFlags) {}

  get connection(): Connection {
    if (!this.openedConnection) throw new Error('the options step has not run')
    return this.openedConnection
  }

  set connection(connection: Connection) {
    this.openedConnection = connection
  }

  /**
   * The one fresh token of this run. Core resolves the region before the credentials, so its failure tells which
   * of the two steps failed.
   */
  token(): Promise<string> {
    this.tokenAttempt ??= this.connection.auth.getToken()
    return this.tokenAttempt
  }
}
