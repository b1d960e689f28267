// The files of the quickstarts' project besides the quickstarts themselves.

/**
 * Preloaded with `node --import`: the README's RDS names resolve to 127.0.0.1, where the emulator serves them, as an
 * /etc/hosts line would. Everything else (TLS, the certificate's name, the token's host) sees the README's name.
 */
export const RESOLVE_RDS_NAMES = `import dns from 'node:dns'

const lookup = dns.lookup
dns.lookup = function lookupRdsNames(hostname, options, callback) {
  if (!/\\.rds\\.amazonaws\\.com$/i.test(hostname)) return lookup.apply(this, arguments)
  const done = typeof options === 'function' ? options : callback
  const all = typeof options === 'object' && options !== null && options.all
  process.nextTick(() => (all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)))
}
`

const COMPILER_OPTIONS = {
  target: 'es2022',
  strict: true,
  skipLibCheck: true,
  types: ['node'],
}

/** Type-checks and compiles the quickstarts as a Node project does: `module: node16`, ESM and CJS by extension. */
export const TSCONFIG_NODE16 = {
  compilerOptions: { ...COMPILER_OPTIONS, module: 'node16', moduleResolution: 'node16', outDir: 'out' },
  include: ['*.mts', '*.cts'],
}

/** Type-checks the ES module quickstarts as an application built by a bundler does (Vite, esbuild, webpack). */
export const TSCONFIG_BUNDLER = {
  compilerOptions: { ...COMPILER_OPTIONS, module: 'esnext', moduleResolution: 'bundler', noEmit: true },
  include: ['*.mts'],
}
