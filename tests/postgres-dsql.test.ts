import { describeConformance } from './src/conformance'
import { postgresTarget } from './src/postgres-target'

describeConformance(postgresTarget('postgres'), { target: 'dsql' })
