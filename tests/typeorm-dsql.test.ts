import { describeConformance } from './src/conformance'
import { typeormTarget } from './src/orm-typeorm-target'

describeConformance(typeormTarget('typeorm'), { target: 'dsql' })
