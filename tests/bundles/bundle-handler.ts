import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { build, type Format } from 'esbuild'

// The usual fix Lambda tooling applies for CommonJS dependencies that call require() inside an ES module bundle.
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);"

/**
 * Bundles a handler as Lambda tooling (AWS CDK's NodejsFunction, SAM, serverless-esbuild) does: one minified file
 * for Node 20, in a new folder under `workDir` with no node_modules, leaving out the `external` packages. Returns
 * the bundle's path.
 */
export async function bundleHandler(
  entry: string,
  format: Format,
  workDir: string,
  external: string[],
): Promise<string> {
  const outfile = join(
    await mkdtemp(join(workDir, `${format}-`)),
    format === 'esm' ? 'handler.mjs' : 'handler.cjs',
  )
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    minify: true,
    external,
    banner: format === 'esm' ? { js: ESM_REQUIRE_BANNER } : undefined,
    logLevel: 'silent',
  })
  return outfile
}
