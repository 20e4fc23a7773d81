import type { Sql } from './pool.js';

/** Status deltas folded into the totals per pass. */
const FOLD_BATCH = 10_000;
/** The advisory lock that makes one folder at a time (any constant, unique in its database). */
const FOLD_LOCK = 0x636f756e; // 'coun'

/**
 * Kept status counts (enrollment's and the worker's): statement triggers append signed
 * deltas to `status_deltas (id, item, n)`, so writers never contend on a counter row, and
 * this moves them into `status_totals (item, n)`, at most FOLD_BATCH at a time. One folder at
 * a time (an advisory lock; another skips): two could otherwise update the same totals rows
 * in opposite orders. Returns the deltas folded.
 */
export async function foldStatusCounts(sql: Sql): Promise<number> {
  return sql.begin(async (tx) => {
    const [lock] = await tx<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${FOLD_LOCK}) AS locked`;
    if (!lock?.locked) return 0;
    const [folded] = await tx<{ count: number }[]>`
      WITH moved AS (
        DELETE FROM status_deltas WHERE id IN (SELECT id FROM status_deltas ORDER BY id LIMIT ${FOLD_BATCH})
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
