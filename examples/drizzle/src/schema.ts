import { pgTable, serial, text } from 'drizzle-orm/pg-core'

// The table drizzle/0000_create_drizzle_notes.sql creates (drizzle-kit generate writes such files from this schema).
export const notes = pgTable('drizzle_notes', {
  id: serial('id').primaryKey(),
  body: text('body').notNull(),
})
