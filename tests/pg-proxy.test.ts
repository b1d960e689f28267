import { pgPoolTarget } from './src/pg-targets'
import { describeProxyConformance } from './src/proxy-conformance'

describeProxyConformance(pgPoolTarget('pg'))
