import { describeConformance } from './src/conformance'
import { knexTarget } from './src/orm-knex-target'

describeConformance(knexTarget('knex'), { target: 'dsql' })
