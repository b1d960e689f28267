import type { Knex } from 'knex'

// Migrations kept in code for the example; a `migrations` directory of files works the same way.
const migrations: Record<string, Knex.Migration> = {
  '20250101000000_create_knex_notes': {
    up: (knex) =>
      knex.schema.createTable('knex_notes', (table) => {
        table.increments('id')
        table.text('body').notNullable()
      }),
    down: (knex) => knex.schema.dropTable('knex_notes'),
  },
}

/** Knex's `migrationSource` over the migrations above. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name] as Knex.Migration,
}
