import { describeConformance } from './src/conformance'
import { pgPoolTarget } from './src/pg-targets'

describeConformance(pgPoolTarget('pg'), { target: 'dsql' })
