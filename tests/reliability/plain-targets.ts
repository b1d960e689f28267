import 'reflect-metadata'
import { PrismaPg } from '@prisma/adapter-pg'
import knex from 'knex'
import pg from 'pg'
import postgres from 'postgres'
import { DataSource } from 'typeorm'
import {
  dataSourceSession,
  knexSession,
  knexTarget,
  knexTuning,
  prismaSession,
  prismaTarget,
  prismaTuning,
  typeormTarget,
  typeormTuning,
} from './orm-targets'
import {
  clientSession,
  pgClientTarget,
  pgPoolTarget,
  pgTuning,
  poolSession,
  postgresTarget,
  postgresTuning,
  type ReliabilityTarget,
  sqlSession,
} from './targets'

/** How a plain driver signs in: a static password over TLS verified against `ca` for the name `servername`. */
export interface PasswordConfig {
  host: string
  port: number
  user: string
  password: string
  database: string
  ssl: { ca: string; servername: string }
}

/**
 * Each adapter target's driver or ORM with no rds-iam at all, tuned the same: what the adapter is measured against.
 * `open` takes a PasswordConfig.
 */
export const plainTargets: ReadonlyMap<ReliabilityTarget, ReliabilityTarget> = new Map(
  (
    [
      [pgPoolTarget, (c, t) => poolSession(new pg.Pool({ ...c, ...pgTuning(t) }))],
      [
        pgClientTarget,
        (c, t) => clientSession(() => new pg.Client({ ...c, connectionTimeoutMillis: t.connectTimeoutMs })),
      ],
      [postgresTarget, (c, t) => sqlSession(postgres({ ...c, pass: c.password, ...postgresTuning(t) }))],
      [
        knexTarget,
        (c, t) => {
          const { connection, ...options } = knexTuning(t)
          return knexSession(knex({ client: 'pg', ...options, connection: { ...c, ...connection } }))
        },
      ],
      [
        typeormTarget,
        ({ user, ...c }, t) =>
          dataSourceSession(new DataSource({ type: 'postgres', ...typeormTuning(t), ...c, username: user })),
      ],
      [prismaTarget, (c, t) => prismaSession(new PrismaPg({ ...c, ...prismaTuning(t) }))],
    ] as [
      ReliabilityTarget,
      (
        config: PasswordConfig,
        tuning: Parameters<ReliabilityTarget['open']>[1],
      ) => ReturnType<ReliabilityTarget['open']>,
    ][]
  ).map(([target, open]) => [
    target,
    {
      name: `plain ${target.name}`,
      open: (config, tuning) => open(config as PasswordConfig, tuning),
      isDriverErrorAfterSend: target.isDriverErrorAfterSend,
    },
  ]),
)
