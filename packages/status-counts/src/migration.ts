/**
 * Counts of a table's rows by a few of its columns (a status, a type and a status), kept as the
 * rows change instead of counted on each read: a `count(*) … GROUP BY` costs O(history), these
 * cost O(statuses). The tables and trigger function are defined here beside the fold and read
 * (index.ts) that use them; each service that counts runs them through a one-line `.js`
 * migration, as it runs @cupo/outbox's table.
 *
 * Statement-level triggers on each counted table append one delta row per item a statement
 * changed (an INSERT into status_deltas: no row lock, so no contention and no deadlock between
 * concurrent writers); a fold (foldStatusCounts) moves the deltas into status_totals under an
 * advisory lock, and a read (readStatusCounts) is totals + pending deltas: as exact as a
 * count(*), at a cost bounded by the number of items and of statements since the last fold.
 *
 * An item is the grouping columns' values joined by '.', after '<prefix>.' when the table has a
 * prefix ('sagas.completed'); without one ('workflow.failed') the table must be the only one
 * counted in its database, since its TRUNCATE forgets every item.
 */
export const STATUS_COUNTS_DDL = `
  CREATE TABLE IF NOT EXISTS status_totals (
    item text PRIMARY KEY,
    n    bigint NOT NULL
  );
  CREATE TABLE IF NOT EXISTS status_deltas (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item text NOT NULL,
    n    bigint NOT NULL
  );

  -- The SQL expression of an item over rows that have the grouping columns.
  CREATE OR REPLACE FUNCTION status_counts_item(prefix text, columns text[]) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN prefix = '' THEN '' ELSE quote_literal(prefix || '.') || ' || ' END
        || (SELECT string_agg(format('%I::text', c), ' || ''.'' || ' ORDER BY i) FROM unnest(columns) WITH ORDINALITY u(c, i))
  $$;

  -- The GROUP BY list of the grouping columns.
  CREATE OR REPLACE FUNCTION status_counts_grouped(columns text[]) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%I', c), ', ' ORDER BY i) FROM unnest(columns) WITH ORDINALITY u(c, i)
  $$;

  -- Drops a table's totals and pending deltas (every item when it has no prefix).
  CREATE OR REPLACE FUNCTION status_counts_forget(prefix text) RETURNS void
  LANGUAGE sql AS $$
    DELETE FROM status_totals WHERE prefix = '' OR starts_with(item, prefix || '.');
    DELETE FROM status_deltas WHERE prefix = '' OR starts_with(item, prefix || '.');
  $$;

  -- The trigger function of every counted table: TG_ARGV is the prefix ('' for none) and then
  -- the grouping columns. One delta per item the statement changed; an UPDATE that moved no row
  -- between items appends none.
  CREATE OR REPLACE FUNCTION status_counts_changed() RETURNS trigger
  LANGUAGE plpgsql AS $$
  DECLARE
    prefix   constant text := TG_ARGV[0];
    item_sql constant text := status_counts_item(TG_ARGV[0], TG_ARGV[1:TG_NARGS - 1]);
    grouped  constant text := status_counts_grouped(TG_ARGV[1:TG_NARGS - 1]);
  BEGIN
    IF TG_OP = 'INSERT' THEN
      EXECUTE format('INSERT INTO status_deltas (item, n) SELECT %s, count(*) FROM new_rows GROUP BY %s',
                     item_sql, grouped);
    ELSIF TG_OP = 'DELETE' THEN
      EXECUTE format('INSERT INTO status_deltas (item, n) SELECT %s, -count(*) FROM old_rows GROUP BY %s',
                     item_sql, grouped);
    ELSIF TG_OP = 'UPDATE' THEN
      EXECUTE format('INSERT INTO status_deltas (item, n) SELECT %1$s, sum(n)
                      FROM (SELECT %2$s, -1 AS n FROM old_rows UNION ALL SELECT %2$s, 1 FROM new_rows) c
                      GROUP BY %2$s HAVING sum(n) <> 0',
                     item_sql, grouped);
    ELSE
      PERFORM status_counts_forget(prefix);
    END IF;
    RETURN NULL;
  END $$;

  -- Counts a table from scratch: its totals become count(*) by item, its pending deltas go.
  -- Exact when its writers wait (a lock) from before it until its triggers are in place.
  CREATE OR REPLACE FUNCTION status_counts_recount(counted regclass, prefix text, columns text[]) RETURNS void
  LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM status_counts_forget(prefix);
    EXECUTE format('INSERT INTO status_totals (item, n) SELECT %s, count(*) FROM %s GROUP BY %s',
                   status_counts_item(prefix, columns), counted, status_counts_grouped(columns));
  END $$`;

/** A table whose rows are counted, and by what. */
export interface CountedTable {
  table: string;
  /** The columns an item groups by, in the item's order. */
  groupBy: readonly string[];
  /** What an item starts with ('<prefix>.'); none only for the one table counted in its database. */
  prefix?: string;
}

export interface StatusCountsOptions {
  counted: readonly CountedTable[];
  /**
   * Name prefixes of trigger functions an earlier migration made per table
   * (`<name>_inserted()`, `_deleted()`, `_updated()`, `_truncated()`), dropped once this
   * migration's triggers, which keep the same names, call status_counts_changed() instead.
   */
  replaces?: readonly string[];
}

/** The slice of node-pg-migrate's MigrationBuilder a SQL migration uses. */
interface MigrationBuilder {
  sql(text: string): void;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const EVENTS = [
  ['insert', 'INSERT', 'REFERENCING NEW TABLE AS new_rows'],
  ['delete', 'DELETE', 'REFERENCING OLD TABLE AS old_rows'],
  ['update', 'UPDATE', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'],
  ['truncate', 'TRUNCATE', ''],
] as const;

function checked(options: StatusCountsOptions): StatusCountsOptions {
  const names = options.counted.flatMap((c) => [c.table, ...c.groupBy, ...(c.prefix ? [c.prefix] : [])]);
  const bad = [...names, ...(options.replaces ?? [])].filter((name) => !IDENTIFIER.test(name));
  if (bad.length > 0) throw new Error(`status counts: not a plain identifier: ${bad.join(', ')}`);
  if (options.counted.some((c) => c.groupBy.length === 0)) throw new Error('status counts: a table groups by no column');
  if (options.counted.length > 1 && options.counted.some((c) => !c.prefix)) {
    throw new Error('status counts: a table without a prefix must be the only one counted in its database');
  }
  return options;
}

/**
 * The migration that makes the tables and functions and counts `counted`: its totals, recounted
 * while its writers wait, and its triggers (`<table>_counted_<event>`, made again if they exist).
 * Safe over a database an earlier per-service version of this migration made: the tables are
 * the same, the triggers keep their names, the totals are recounted rather than added to.
 */
export function statusCountsMigration(options: StatusCountsOptions) {
  const { counted, replaces = [] } = checked(options);
  const args = (c: CountedTable) => [c.prefix ?? '', ...c.groupBy].map((a) => `'${a}'`);
  const up = [
    STATUS_COUNTS_DDL,
    // Writers wait from here to the commit (readers do not): the recount sees every row written
    // before, and every row written after is counted by the triggers.
    `LOCK TABLE ${counted.map((c) => c.table).join(', ')} IN SHARE ROW EXCLUSIVE MODE`,
    ...counted.map((c) => `SELECT status_counts_recount('${c.table}', ${args(c)[0]}, ARRAY[${args(c).slice(1).join(', ')}]::text[])`),
    // Dropped and made again rather than CREATE OR REPLACE TRIGGER, which PostgreSQL 13 lacks;
    // last, so the DROP's exclusive lock, which holds off readers too, is held only to the commit.
    ...counted.flatMap((c) =>
      EVENTS.flatMap(([event, op, referencing]) => [
        `DROP TRIGGER IF EXISTS ${c.table}_counted_${event} ON ${c.table}`,
        `CREATE TRIGGER ${c.table}_counted_${event} AFTER ${op} ON ${c.table} ${referencing}
           FOR EACH STATEMENT EXECUTE FUNCTION status_counts_changed(${args(c).join(', ')})`,
      ]),
    ),
    ...replaces.flatMap((name) =>
      ['inserted', 'deleted', 'updated', 'truncated'].map((what) => `DROP FUNCTION IF EXISTS ${name}_${what}()`),
    ),
  ];
  const down = [
    ...counted.flatMap((c) => EVENTS.map(([event]) => `DROP TRIGGER IF EXISTS ${c.table}_counted_${event} ON ${c.table}`)),
    'DROP FUNCTION IF EXISTS status_counts_recount(regclass, text, text[])',
    'DROP FUNCTION IF EXISTS status_counts_changed()',
    'DROP FUNCTION IF EXISTS status_counts_forget(text)',
    'DROP FUNCTION IF EXISTS status_counts_grouped(text[])',
    'DROP FUNCTION IF EXISTS status_counts_item(text, text[])',
    'DROP TABLE IF EXISTS status_deltas',
    'DROP TABLE IF EXISTS status_totals',
  ];
  return {
    up: (pgm: MigrationBuilder): void => pgm.sql(`${up.join(';\n')};`),
    down: (pgm: MigrationBuilder): void => pgm.sql(`${down.join(';\n')};`),
  };
}
