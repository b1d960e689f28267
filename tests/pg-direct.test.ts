import { describeConformance } from './src/conformance'
import { pgClientTarget, pgPoolTarget } from './src/pg-targets'

describeConformance(pgPoolTarget('pg'), { direct: true })
describeConformance(pgClientTarget('pg client'), { direct: true })
