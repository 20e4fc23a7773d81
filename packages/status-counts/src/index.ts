import type { Sql } from '@cupo/database';

export * from './migration.js';

/** Deltas folded into the totals per pass. */
export const FOLD_BATCH = 10_000;
/** The advisory lock that makes one folder at a time (any constant, unique in its database). */
const FOLD_LOCK = 0x636f756e; // 'coun'

/**
 * Moves the deltas the triggers appended into the totals, at most `batch` at a time. One folder
 * at a time (an advisory lock; a second one skips): two folders could otherwise update the same
 * totals rows in opposite orders. Returns the deltas folded.
 */
export async function foldStatusCounts(sql: Sql, batch = FOLD_BATCH): Promise<number> {
  return sql.begin(async (tx) => {
    const [lock] = await tx<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${FOLD_LOCK}) AS locked`;
    if (!lock?.locked) return 0;
    const [folded] = await tx<{ count: number }[]>`
      WITH moved AS (
        DELETE FROM status_deltas WHERE id IN (SELECT id FROM status_deltas ORDER BY id LIMIT ${batch})
        RETURNING item, n
      ), summed AS (
        INSERT INTO status_totals (item, n) SELECT item, sum(n) FROM moved GROUP BY item
        ON CONFLICT (item) DO UPDATE SET n = status_totals.n + EXCLUDED.n
        RETURNING 1
      )
      SELECT (SELECT count(*)::int FROM moved) AS count, (SELECT count(*) FROM summed) AS items`;
    return folded?.count ?? 0;
  });
}

/**
 * Every item's count: totals plus the deltas not folded yet, exact and read in one statement,
 * at a cost that does not grow with history. An item no row has is absent (count it as 0).
 */
export async function readStatusCounts(sql: Sql): Promise<ReadonlyMap<string, number>> {
  const rows = await sql<{ item: string; n: number }[]>`
    SELECT item, sum(n)::int AS n
    FROM (SELECT item, n FROM status_totals UNION ALL SELECT item, n FROM status_deltas) c
    GROUP BY item`;
  return new Map(rows.map((row) => [row.item, row.n]));
}
