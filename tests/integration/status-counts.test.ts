import { createPool, databaseUrlFor, dropDatabase, ensureDatabase, type Sql } from '@cupo/database';
import { defaultUrls } from '@cupo/stack';
import { foldStatusCounts, readStatusCounts, statusCountsMigration } from '@cupo/status-counts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedDatabase } from './database.js';

/**
 * @cupo/status-counts on a database of its own: counts kept by its triggers and fold must equal
 * a count(*) of the tables whatever statements change them, concurrently, and its migration
 * must take over the triggers an earlier per-service migration made without counting twice.
 */
type Migrated = Awaited<ReturnType<typeof migratedDatabase>>;

/** Runs a migration's `up` as node-pg-migrate would (one transaction), on `sql`. */
async function runUp(sql: Sql, migration: { up: (pgm: { sql: (text: string) => void }) => void }) {
  const statements: string[] = [];
  migration.up({ sql: (text) => void statements.push(text) });
  await sql.begin(async (tx) => {
    for (const statement of statements) await tx.unsafe(statement);
  });
}

const PARCELS = { table: 'parcels', prefix: 'parcels', groupBy: ['kind', 'status'] } as const;
const CRATES = { table: 'crates', prefix: 'crates', groupBy: ['status'] } as const;
const COUNTED = statusCountsMigration({ counted: [PARCELS, CRATES] });
const KINDS = ['small', 'large', 'odd'];
const STATUSES = ['new', 'sent', 'lost'];

describe('@cupo/status-counts', () => {
  const { pgUrl } = defaultUrls();
  const name = `cupo_it_counts_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  let sql: Sql;

  /** What the counts must be: count(*) of both tables by item. */
  const truth = async () => {
    const rows = await sql<{ item: string; n: number }[]>`
      SELECT 'parcels.' || kind || '.' || status AS item, count(*)::int AS n FROM parcels GROUP BY kind, status
      UNION ALL SELECT 'crates.' || status, count(*)::int FROM crates GROUP BY status`;
    return new Map(rows.map((row) => [row.item, row.n]));
  };
  /** The counts, leaving out items that went back to 0 (a total stays, at 0, once folded). */
  const kept = async () => new Map([...(await readStatusCounts(sql))].filter(([, n]) => n !== 0));

  beforeAll(async () => {
    await ensureDatabase(pgUrl, name);
    sql = createPool({ url: databaseUrlFor(pgUrl, name), max: 8, applicationName: 'status-counts-it' });
    await sql`CREATE TABLE parcels (id serial PRIMARY KEY, kind text NOT NULL, status text NOT NULL)`;
    await sql`CREATE TABLE crates (id serial PRIMARY KEY, status text NOT NULL)`;
    // Rows made before the counts were: the migration counts them once.
    await sql`
      INSERT INTO parcels (kind, status)
      SELECT (ARRAY['small', 'large', 'odd'])[1 + g % 3], (ARRAY['new', 'sent'])[1 + g % 2] FROM generate_series(1, 300) g`;
    await sql`INSERT INTO crates (status) SELECT 'new' FROM generate_series(1, 40)`;
    await runUp(sql, COUNTED);
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await dropDatabase(pgUrl, name);
  });

  it('counts the rows a table held before its counts were kept', async () => {
    expect(await readStatusCounts(sql)).toEqual(await truth());
    expect((await readStatusCounts(sql)).get('parcels.small.sent')).toBe(50);
  });

  it('equals count(*) by two grouping columns after concurrent inserts, updates and deletes, folded meanwhile', async () => {
    // Each transaction changes rows of its own (id % 60 = i), so they wait on no one's row locks.
    const statements = Array.from({ length: 60 }, (_, i) =>
      sql.begin(async (tx) => {
        const kind = KINDS[i % 3]!;
        const next = STATUSES[(i + 1) % 3]!;
        if (i % 4 === 0) {
          await tx`INSERT INTO parcels (kind, status) SELECT ${kind}, ${next} FROM generate_series(1, ${1 + (i % 7)})`;
        } else if (i % 4 === 1) {
          // Moves rows between items (several items in one statement), and some onto their own item.
          await tx`UPDATE parcels SET status = ${next} WHERE id % 60 = ${i}`;
        } else if (i % 4 === 2) {
          await tx`UPDATE parcels SET kind = CASE kind WHEN 'odd' THEN 'small' ELSE 'odd' END, status = ${next}
                   WHERE id % 60 = ${i}`;
          await tx`DELETE FROM parcels WHERE id IN (SELECT id FROM parcels WHERE id % 60 = ${i} ORDER BY id LIMIT 3)`;
        } else {
          await tx`UPDATE crates SET status = ${next} WHERE id % 15 = ${i % 15}`; // i % 15 differs for each i % 4 = 3
          await tx`INSERT INTO crates (status) VALUES (${next}), ('new')`;
        }
      }),
    );
    const folds = Array.from({ length: 10 }, () => foldStatusCounts(sql, 7));
    await Promise.all([...statements, ...folds]);
    // An update that changes no counted column, and one rolled back, count nothing.
    await sql`UPDATE parcels SET kind = kind WHERE id % 2 = 0`;
    await sql
      .begin(async (tx) => {
        await tx`DELETE FROM parcels`;
        throw new Error('rolled back');
      })
      .catch(() => undefined);

    const expected = await truth();
    const [deleted] = await sql<{ n: number }[]>`SELECT 300 - count(*)::int AS n FROM parcels WHERE id <= 300`;
    expect(deleted?.n).toBe(15 * 3);
    expect(await kept()).toEqual(expected);
    // Folding everything changes where the figures are kept, not what they are.
    let folded = 0;
    for (let pass = await foldStatusCounts(sql, 50); pass > 0; pass = await foldStatusCounts(sql, 50)) folded += pass;
    expect(folded).toBeGreaterThan(0);
    expect(await sql`SELECT 1 FROM status_deltas`).toHaveLength(0);
    expect(await kept()).toEqual(expected);
    // An update that moves no row between items appends no delta at all.
    await sql`UPDATE parcels SET status = status, kind = kind`;
    await sql`UPDATE crates SET status = status`;
    expect(await sql`SELECT 1 FROM status_deltas`).toHaveLength(0);
  });

  it('folds with one folder at a time: another skips rather than waits', async () => {
    await sql`INSERT INTO crates (status) VALUES ('new')`;
    const hold = await sql.reserve();
    let first: Promise<number> | undefined;
    let second: unknown;
    try {
      // Holds the pending deltas' rows, so the first folder (with its lock) waits on them.
      await hold`BEGIN`;
      await hold`SELECT id FROM status_deltas FOR UPDATE`;
      first = foldStatusCounts(sql);
      await new Promise((resolve) => setTimeout(resolve, 200));
      second = await Promise.race([foldStatusCounts(sql), new Promise((resolve) => setTimeout(() => resolve('waiting'), 2_000))]);
    } finally {
      await hold`COMMIT`;
      hold.release();
    }
    expect(second).toBe(0);
    expect(await first).toBeGreaterThan(0);
    expect(await kept()).toEqual(await truth());
  });

  it('forgets a truncated table’s items and only those', async () => {
    await sql`INSERT INTO crates (status) VALUES ('lost')`;
    await sql`TRUNCATE crates`;
    await sql`INSERT INTO crates (status) VALUES ('sent'), ('sent')`;
    const counts = await kept();
    expect(counts.get('crates.sent')).toBe(2);
    expect(counts.get('crates.lost')).toBeUndefined();
    expect(counts).toEqual(await truth());
  });

  it('recounts rather than adds when it runs again over counts already kept', async () => {
    await sql`INSERT INTO parcels (kind, status) VALUES ('small', 'new')`; // a delta pending
    await runUp(sql, COUNTED);
    expect(await kept()).toEqual(await truth());
  });
});

/**
 * A database that ran a service's earlier 1737100000000 migration has its triggers, under the
 * same names, calling that migration's own functions (`<name>_inserted()` …). Here they are
 * stood in for by functions that append a marker item ('<table>.legacy'); 1737200000000 must point the triggers at
 * the shared function, drop those functions and recount, so nothing is counted twice or by them.
 */
describe.each([
  { service: 'enrollment' as const, tables: ['enrollment_requests', 'sagas'], replaced: 'status_counts' },
  { service: 'worker' as const, tables: ['tasks'], replaced: 'task_counts' },
])('the $service database that counted with its own functions', ({ service, tables, replaced }) => {
  let database: Migrated;

  beforeAll(async () => {
    database = await migratedDatabase(service, 4);
  });

  afterAll(() => database?.drop());

  const triggers = (sql: Sql) => sql<{ table: string; trigger: string; fn: string }[]>`
    SELECT c.relname AS table, t.tgname AS trigger, p.proname AS fn
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE NOT t.tgisinternal AND t.tgname LIKE '%\\_counted\\_%' ORDER BY 1, 2`;

  it('is taken over by the shared function, counting each change once', async () => {
    const { sql } = database;
    const fresh = await triggers(sql);
    expect(fresh.map((t) => t.trigger)).toEqual(
      tables.flatMap((table) => ['delete', 'insert', 'truncate', 'update'].map((event) => `${table}_counted_${event}`)),
    );
    expect(new Set(fresh.map((t) => t.fn))).toEqual(new Set(['status_counts_changed']));
    // The earlier migration's state: its functions behind the same triggers.
    for (const [event, what] of [
      ['insert', 'inserted'],
      ['delete', 'deleted'],
      ['update', 'updated'],
      ['truncate', 'truncated'],
    ]) {
      await sql.unsafe(`
        CREATE FUNCTION ${replaced}_${what}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO status_deltas (item, n) VALUES (TG_TABLE_NAME || '.legacy', 1); RETURN NULL; END $$`);
      for (const table of tables) {
        await sql.unsafe(`DROP TRIGGER ${table}_counted_${event} ON ${table}`);
        await sql.unsafe(`
          CREATE TRIGGER ${table}_counted_${event} AFTER ${event} ON ${table}
          ${event === 'truncate' ? '' : event === 'update' ? 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows' : event === 'insert' ? 'REFERENCING NEW TABLE AS new_rows' : 'REFERENCING OLD TABLE AS old_rows'}
          FOR EACH STATEMENT EXECUTE FUNCTION ${replaced}_${what}()`);
      }
    }
    const write =
      service === 'worker'
        ? () => sql`INSERT INTO tasks (id, type, status) SELECT gen_random_uuid(), 'batch', 'pending' FROM generate_series(1, 5)`
        : () => sql`
            WITH requests AS (
              INSERT INTO enrollment_requests (id, student_id, term, sections)
              SELECT gen_random_uuid(), 'S' || g, 'T', ARRAY['X'] FROM generate_series(1, 5) g RETURNING id
            )
            INSERT INTO sagas (id, name, status, steps) SELECT id, 'enrollment', 'running', '[]' FROM requests`;
    /** count(*) of the counted tables by item. */
    const truth = async () => {
      const rows =
        service === 'worker'
          ? await sql<{ item: string; n: number }[]>`
              SELECT type || '.' || status AS item, count(*)::int AS n FROM tasks GROUP BY type, status`
          : await sql<{ item: string; n: number }[]>`
              SELECT 'enrollment_requests.' || status AS item, count(*)::int AS n FROM enrollment_requests GROUP BY status
              UNION ALL SELECT 'sagas.' || status, count(*)::int FROM sagas GROUP BY status`;
      return new Map(rows.map((row) => [row.item, row.n]));
    };
    await write();
    const legacy = (counts: ReadonlyMap<string, number>) => [...counts.keys()].filter((item) => item.endsWith('.legacy')).sort();
    expect(legacy(await readStatusCounts(sql))).toEqual(tables.map((table) => `${table}.legacy`));

    const migration = (await import(`../../services/${service}/migrations/1737200000000_status-counts.js`)) as {
      up: (pgm: { sql: (text: string) => void }) => void;
    };
    await runUp(sql, migration);

    expect(await triggers(sql)).toEqual(fresh);
    const replacedNames = ['inserted', 'deleted', 'updated', 'truncated'].map((what) => `${replaced}_${what}`);
    const left = await sql`SELECT proname FROM pg_proc WHERE proname = ANY(${replacedNames})`;
    expect(left).toEqual([]);
    await write();
    await foldStatusCounts(sql);
    const counts = await readStatusCounts(sql);
    expect(legacy(counts)).toEqual([]);
    const expected = await truth();
    expect([...expected.values()].reduce((a, b) => a + b, 0)).toBe(10 * tables.length);
    expect(counts).toEqual(expected);
  });
});
