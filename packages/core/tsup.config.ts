import { defineConfig } from 'tsup'

// The CommonJS build requires @opentelemetry/api inside a try block and the ES module build imports it: each the
// form that bundlers follow, and leave to run time when the package is missing (see src/telemetry/otel-api.ts).
export default defineConfig({
  esbuildOptions(options, { format }) {
    options.define = { ...options.define, __RDS_IAM_CJS_BUILD__: format === 'cjs' ? 'true' : 'false' }
  },
})
