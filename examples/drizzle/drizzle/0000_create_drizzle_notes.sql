CREATE TABLE IF NOT EXISTS "drizzle_notes" (
	"id" serial PRIMARY KEY NOT NULL,
	"body" text NOT NULL
);
