import { defineConfig } from 'tsup'

// A command, not a library: one ESM entry whose commands are split into chunks loaded on use, so `--help` loads
// neither the AWS SDK nor pg.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node20',
  splitting: true,
  clean: true,
})
