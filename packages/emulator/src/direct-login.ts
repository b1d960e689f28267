import type { Authenticator, LoginVerdict } from './authenticator.js'
import type { ServerCertificates } from './certificates.js'
import { takeOverUpstream, userOfBindName } from './direct-takeover.js'
import type { EventRecorder } from './events.js'
import { startLdapBindServer } from './ldap-bind-server.js'
import type { PostgresConnectionInfo } from './postgres-server.js'

/** What a direct emulator needs to have PostgreSQL check IAM logins with it. */
export interface DirectLoginOptions {
  upstream: PostgresConnectionInfo
  certificates: ServerCertificates
  forceSsl: boolean
  /** Checks a token for `endpoint:<upstream port>`. */
  authenticate: Authenticator
  emit: EventRecorder['emit']
}

/** The upstream, checking IAM logins with the emulator until `close()`. */
export interface DirectLogin {
  close(): Promise<void>
}

/**
 * Has the upstream PostgreSQL itself ask IAM users for their token and check it with the emulator over LDAP: clients
 * connect to PostgreSQL, and no process stands between them once they are in. PostgreSQL does not tell an LDAP
 * server the database, so events name none.
 */
export async function startDirectLogin(options: DirectLoginOptions): Promise<DirectLogin> {
  const ldap = await startLdapBindServer(async (name, token) => {
    const user = userOfBindName(name)
    if (user === undefined) return false
    let verdict: LoginVerdict
    try {
      verdict = await options.authenticate(token, user)
    } catch (error) {
      // A policy that throws fails the login, as the relay fails it, and the event says why.
      options.emit({ type: 'connection-error', message: `checking a token: ${(error as Error).message}` })
      return false
    }
    if (verdict.ok) {
      options.emit({ type: 'auth-accepted', user, database: '', accessKeyId: verdict.accessKeyId })
    } else {
      const { ok: _, ...rejection } = verdict
      options.emit({ type: 'auth-rejected', user, database: '', ...rejection })
    }
    return verdict.ok
  })
  try {
    const restore = await takeOverUpstream(options.upstream, {
      ldapPort: ldap.port,
      certificates: options.certificates,
      forceSsl: options.forceSsl,
    })
    return {
      async close() {
        try {
          await restore()
        } finally {
          await ldap.close()
        }
      },
    }
  } catch (error) {
    await ldap.close()
    throw error
  }
}
