/**
 * The outbox table, defined here beside the relay that empties it. Each service with an outbox
 * runs this as one of its own migrations: a file in its `migrations/` folder re-exports `up`
 * and `down` (node-pg-migrate loads `.js` migrations beside `.sql` ones), so the table has one
 * definition however many services keep one.
 *
 * `IF NOT EXISTS`: databases made before this migration existed got the table, with this very
 * definition, from their service's first migration, and keep it as it is.
 */
export const OUTBOX_TABLE_DDL = `
  CREATE TABLE IF NOT EXISTS outbox (
    id          bigserial PRIMARY KEY,
    exchange    text NOT NULL,
    routing_key text NOT NULL,
    payload     jsonb NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
  )`;

/** The slice of node-pg-migrate's MigrationBuilder a SQL migration uses. */
interface MigrationBuilder {
  sql(text: string): void;
}

export const outboxMigration = {
  up: (pgm: MigrationBuilder): void => pgm.sql(OUTBOX_TABLE_DDL),
  down: (pgm: MigrationBuilder): void => pgm.sql('DROP TABLE IF EXISTS outbox'),
};
