import { describeConformance } from './src/conformance'
import { pgClientTarget } from './src/pg-targets'

describeConformance(pgClientTarget('pg_client'), { target: 'dsql' })
