import { configError } from '../errors'
import type { TargetKind } from '../types'
import { dsqlTarget } from './dsql/dsql-target'
import { rdsProxyTarget } from './rds-proxy/rds-proxy-target'
import { rdsTarget } from './rds-target'
import type { Target } from './target'

// Keyed by kind so the compiler keeps it in step with the TargetKind union. RDS last: it is what a host name that
// no other target claims is taken to be.
const TARGETS: Record<TargetKind, Target> = { dsql: dsqlTarget, 'rds-proxy': rdsProxyTarget, rds: rdsTarget }
// Proxy endpoints are RDS names too, so the proxy is tried before RDS claims them.
const DETECTION_ORDER: readonly Target[] = [dsqlTarget, rdsProxyTarget]

/** The target of one kind. */
export function targetOf(kind: TargetKind): Target {
  return TARGETS[kind]
}

/** Every target, for classifying an error whose endpoint is unknown. */
export function allTargets(): readonly Target[] {
  return Object.values(TARGETS)
}

/**
 * The target an endpoint name belongs to: Aurora DSQL for `<cluster>.dsql.<region>.on.aws`, RDS Proxy for
 * `<name>.proxy-<hash>.<region>.rds.amazonaws.com` and `<e>.endpoint.proxy-...`, else RDS (which also
 * covers tunnels, aliases and IP addresses unless the `target` option says otherwise).
 * @example detectTarget('abc123.dsql.us-east-1.on.aws').kind // 'dsql'
 */
export function detectTarget(host: string): Target {
  return DETECTION_ORDER.find((target) => target.isEndpoint(host)) ?? rdsTarget
}

/** The `target` option checked, or the target the token host names when it is unset. */
export function resolveTarget(option: unknown, tokenHost: string): Target {
  if (option === undefined) return detectTarget(tokenHost)
  if (typeof option === 'string' && Object.hasOwn(TARGETS, option)) return TARGETS[option as TargetKind]
  throw configError(
    `Unknown \`target\` ${JSON.stringify(option)}.`,
    `Use one of ${Object.keys(TARGETS)
      .map((kind) => `'${kind}'`)
      .join(', ')}, or leave it out to have it follow the host name.`,
  )
}
