import { typeormTarget } from './src/orm-typeorm-target'
import { describeProxyConformance } from './src/proxy-conformance'

describeProxyConformance(typeormTarget('typeorm'))
