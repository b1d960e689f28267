import { dsqlEmulatorTarget } from '../dsql/dsql-target.js'
import { rdsProxyEmulatorTarget } from '../proxy/proxy-target.js'
import type { EmulatorTarget, EmulatorTargetKind } from './emulator-target.js'
import { rdsEmulatorTarget } from './rds-target.js'

const TARGETS: Record<EmulatorTargetKind, EmulatorTarget> = {
  rds: rdsEmulatorTarget,
  dsql: dsqlEmulatorTarget,
  'rds-proxy': rdsProxyEmulatorTarget,
}

/** The emulator mode of the `target` option, or a clear error for one it does not have. */
export function emulatorTargetOf(kind: unknown = 'rds'): EmulatorTarget {
  if (typeof kind === 'string' && Object.hasOwn(TARGETS, kind)) return TARGETS[kind as EmulatorTargetKind]
  throw new Error(
    `Unknown emulator \`target\` ${JSON.stringify(kind)}: use ${Object.keys(TARGETS)
      .map((name) => `'${name}'`)
      .join(' or ')}.`,
  )
}
