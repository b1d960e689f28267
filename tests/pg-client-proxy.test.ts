import { pgClientTarget } from './src/pg-targets'
import { describeProxyConformance } from './src/proxy-conformance'

describeProxyConformance(pgClientTarget('pg_client'))
