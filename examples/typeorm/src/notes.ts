import { EntitySchema, type MigrationInterface, type QueryRunner } from 'typeorm'

/** A note as the application sees it. */
export interface Note {
  id: number
  body: string
}

// An entity schema needs no decorator settings; decorated entity classes work the same way.
export const NoteEntity = new EntitySchema<Note>({
  name: 'Note',
  tableName: 'typeorm_notes',
  columns: {
    id: { type: Number, primary: true, generated: true },
    body: { type: String },
  },
})

export class CreateTypeormNotes1735689600000 implements MigrationInterface {
  name = 'CreateTypeormNotes1735689600000'
  async up(runner: QueryRunner): Promise<void> {
    await runner.query('create table typeorm_notes (id serial primary key, body text not null)')
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('drop table typeorm_notes')
  }
}
