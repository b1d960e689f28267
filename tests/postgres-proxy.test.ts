import { postgresTarget } from './src/postgres-target'
import { describeProxyConformance } from './src/proxy-conformance'

describeProxyConformance(postgresTarget('postgres'))
