import { createRateWindow } from '../rate-window.js'
import type { LoginRefusal, TargetInstance, TargetSettings } from '../targets/emulator-target.js'
import {
  clientConnectionsExceeded,
  competingRequests,
  connectRateExceeded,
  iamOnlyWithSsl,
  noCredentialsForRole,
  noStreamingReplication,
  proxyRequiresTls,
  proxyTokenRejected,
  type TokenRejectionWording,
  unsupportedOption,
  userNameMissing,
} from './proxy-answers.js'

/** Switches a test flips to make an emulated RDS Proxy refuse connections as a real one does. */
export interface ProxyControls {
  /**
   * Beyond `perSecond` new connections in any second, answers `Rate of connection to proxy exceeded <n>.`;
   * `null` lifts the limit.
   */
  limitConnectRate(perSecond: number | null): void
  /**
   * Beyond `max` open client connections, answers `The maximum number of client connections to the proxy exceeded
   * <n>.`; `null` lifts the limit.
   */
  limitClientConnections(max: number | null): void
  /**
   * Which of the proxy's two texts a rejected token gets: `role` (`The IAM authentication failed for the role r.
   * ...`, the default) or `user` (`IAM authentication failed for user u. ...`).
   */
  setTokenRejectionWording(wording: TokenRejectionWording): void
}

// Startup parameters the proxy refuses: `statement_timeout` and `jit` are seen refused in the wild (node-postgres
// sends the first from its config, asyncpg the second from server_settings); `options` (`-c name=value`, which
// ORMs use for search_path) carries settings the proxy would have to apply per session, so it is taken as refused
// too (inferred). Everything else a driver sends by default (client_encoding, application_name, DateStyle,
// extra_float_digits, TimeZone) passes.
const UNSUPPORTED_PARAMETERS = ['options', 'statement_timeout', 'jit'] as const

function checkLimit(name: string, value: number | null): number | null {
  if (value !== null && (!Number.isInteger(value) || value < 0)) {
    throw new RangeError(`${name} must be a whole number, 0 or more, or null, got ${value}`)
  }
  return value
}

/**
 * RDS Proxy in front of the upstream: its own texts for every refusal (troubleshooting guide, PostgreSQL table),
 * its connection limits, and users without an `rds_iam` grant taken as users it has no Secrets Manager secret for.
 * `forceSsl` is its Require TLS setting: on, every connection needs TLS (`This RDS Proxy requires TLS
 * connections.`); off, only IAM logins do (`IAM authentication is allowed only with SSL connections.`).
 */
export function createProxyMode(settings: TargetSettings): TargetInstance {
  const connects = createRateWindow()
  let maxClientConnections: number | null = null
  let wording: TokenRejectionWording = 'role'

  const refuseStartup = (
    settings: ReadonlyMap<string, Buffer>,
    openConnections: number,
  ): LoginRefusal | undefined => {
    if (maxClientConnections !== null && openConnections > maxClientConnections) {
      const detail = `over limitClientConnections(${maxClientConnections})`
      const fields = clientConnectionsExceeded(maxClientConnections)
      return { fields, reason: 'connection-limit', detail }
    }
    const rate = connects.limit
    if (rate !== null && !connects.admit()) {
      const detail = `over limitConnectRate(${rate})`
      return { fields: connectRateExceeded(rate), reason: 'connection-limit', detail }
    }
    const replication = settings.get('replication')?.toString()
    if (replication !== undefined && replication !== 'false' && replication !== 'off') {
      return { fields: noStreamingReplication, reason: 'unsupported-option', detail: 'replication' }
    }
    const unsupported = UNSUPPORTED_PARAMETERS.find((name) => settings.has(name))
    if (unsupported === undefined) return undefined
    return { fields: unsupportedOption(unsupported), reason: 'unsupported-option', detail: unsupported }
  }

  return {
    answers: {
      refuseStartup,
      noUser: userNameMissing,
      noEncryption: () => (settings.forceSsl ? proxyRequiresTls : iamOnlyWithSsl),
      refusePasswordUser: (user) => ({
        fields: noCredentialsForRole(user),
        reason: 'no-secret',
        detail: `"${user}" is not an rds_iam member, so the proxy has no secret for it`,
      }),
      throttled: competingRequests,
      tokenRejected: (user) => proxyTokenRejected(user.text, wording),
      tooManyConnections: clientConnectionsExceeded(settings.maxConnections ?? 0),
    },
    controls: {
      limitConnectRate(perSecond) {
        connects.setLimit(checkLimit('limitConnectRate', perSecond))
      },
      limitClientConnections(max) {
        maxClientConnections = checkLimit('limitClientConnections', max)
      },
      setTokenRejectionWording(next) {
        if (next !== 'role' && next !== 'user')
          throw new RangeError(`wording must be 'role' or 'user', got ${next}`)
        wording = next
      },
    },
  }
}
