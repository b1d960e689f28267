import { knexTarget } from './src/orm-knex-target'
import { describeProxyConformance } from './src/proxy-conformance'

describeProxyConformance(knexTarget('knex'))
