import { createPool, databaseUrlFor, dropDatabase, ensureDatabase, type Sql } from '@cupo/database';
import { defaultUrls } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedDatabase } from './database.js';

/**
 * The outbox table has one definition, @cupo/outbox's, which enrollment's and the worker's
 * migrations both run; a database whose first migration made the table (as every database
 * did before) keeps it, rows and all.
 */
type Migrated = Awaited<ReturnType<typeof migratedDatabase>>;
const databases: Migrated[] = [];
let enrollment: Migrated;
let worker: Migrated;

beforeAll(async () => {
  enrollment = await migratedDatabase('enrollment', 2);
  worker = await migratedDatabase('worker', 2);
  databases.push(enrollment, worker);
});

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

const columns = (sql: Sql) => sql`
  SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
  WHERE table_name = 'outbox' ORDER BY ordinal_position`;

/** The services' outbox migrations, each `up` run as node-pg-migrate would, on `sql`. */
async function runOutboxMigrations(sql: Sql, services: string[]) {
  for (const service of services) {
    const migration = (await import(`../../services/${service}/migrations/1736300000000_outbox.js`)) as {
      up: (pgm: { sql: (text: string) => void }) => void;
    };
    const statements: string[] = [];
    migration.up({ sql: (text) => void statements.push(text) });
    for (const statement of statements) await sql.unsafe(statement);
  }
}

/**
 * The table as enrollment's and the worker's first migrations created it, before it moved to
 * @cupo/outbox, as information_schema describes it: @cupo/outbox's definition must stay this.
 */
const TABLE_AS_FIRST_MIGRATIONS_MADE_IT = [
  { column_name: 'id', data_type: 'bigint', is_nullable: 'NO', column_default: "nextval('outbox_id_seq'::regclass)" },
  { column_name: 'exchange', data_type: 'text', is_nullable: 'NO', column_default: null },
  { column_name: 'routing_key', data_type: 'text', is_nullable: 'NO', column_default: null },
  { column_name: 'payload', data_type: 'jsonb', is_nullable: 'NO', column_default: null },
  { column_name: 'headers', data_type: 'jsonb', is_nullable: 'NO', column_default: "'{}'::jsonb" },
  { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO', column_default: 'now()' },
];

describe('the outbox table', () => {
  it('is made by the same migration in every service that keeps an outbox', async () => {
    const made = await columns(enrollment.sql);
    expect(made.map((c) => c.column_name)).toEqual(['id', 'exchange', 'routing_key', 'payload', 'headers', 'created_at']);
    expect(await columns(worker.sql)).toEqual(made);
  });

  it('is left as it is, rows and all, in a database whose first migration made it', async () => {
    const { pgUrl } = defaultUrls();
    const name = `cupo_it_outbox_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
    await ensureDatabase(pgUrl, name);
    const sql = createPool({ url: databaseUrlFor(pgUrl, name), max: 1, applicationName: 'outbox-it' });
    databases.push({ sql, url: '', drop: async () => void (await sql.end({ timeout: 5 }), await dropDatabase(pgUrl, name)) });
    // The table a first migration made, with a row in it (the definition is the same: checked below).
    await runOutboxMigrations(sql, ['enrollment']);
    await sql`INSERT INTO outbox (exchange, routing_key, payload) VALUES ('cupo.jobs', 'k', '{"a": 1}')`;
    const before = await columns(sql);
    expect(before).toEqual(TABLE_AS_FIRST_MIGRATIONS_MADE_IT);

    await runOutboxMigrations(sql, ['enrollment', 'worker']);

    expect(await columns(sql)).toEqual(before);
    expect(await columns(sql)).toEqual(await columns(enrollment.sql));
    expect(await sql`SELECT routing_key, payload FROM outbox`).toEqual([{ routing_key: 'k', payload: { a: 1 } }]);
  });
});
