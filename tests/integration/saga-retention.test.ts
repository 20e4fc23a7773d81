import type { Sql } from '@cupo/database';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresFinishedSagaPurger } from '../../services/enrollment/src/adapters/postgres/saga-retention.js';
import { sagaPurgeCounter } from '../../services/enrollment/src/adapters/saga-retention-metrics.js';
import { PostgresOpsStore } from '../../services/enrollment/src/adapters/postgres/ops-store.js';
import { purgeFinishedSagas } from '../../services/enrollment/src/app/purge-finished-sagas.js';
import { migratedDatabase } from './database.js';
import { capturing, explainGeneric } from './plans.js';

/**
 * The automatic cleanup of finished sagas (issue 15.2) on a real, migrated enrollment database:
 * it removes what ended longer ago than the retention and nothing else, in bounded batches,
 * counts what it removed in enrollment_sagas_purged_total, and finds its rows by index.
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;

beforeAll(async () => {
  database = await migratedDatabase('enrollment', 2);
  sql = database.sql;
});

afterAll(() => database?.drop());

const DAY = 86_400;

/** n sagas of one status, each with its request, that ended `endedDaysAgo` days ago (null: still running). */
async function sagas(tag: number, n: number, status: string, endedDaysAgo: number | null): Promise<void> {
  await sql`
    WITH r AS (
      INSERT INTO enrollment_requests (id, student_id, term, sections, status, error_code, finished_at)
      SELECT md5(${tag}::text || '-' || g)::uuid, 's' || g, '1-2025', ARRAY['X'],
             ${status === 'running' ? 'processing' : status === 'completed' ? 'completed' : 'failed'},
             ${status === 'running' || status === 'completed' ? null : 'NO_SEATS'},
             ${endedDaysAgo === null ? null : sql`now() - make_interval(days => ${endedDaysAgo})`}
      FROM generate_series(1, ${n}) g RETURNING id)
    INSERT INTO sagas (id, name, status, steps, started_at, finished_at)
    SELECT id, 'enroll', ${status}, '[]'::jsonb,
           now() - make_interval(days => ${(endedDaysAgo ?? 0) + 1}),
           ${endedDaysAgo === null ? null : sql`now() - make_interval(days => ${endedDaysAgo})`}
    FROM r`;
}

const purgedCount = async (registry: Registry) => {
  const metric = await registry.getSingleMetric('enrollment_sagas_purged_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [v.labels.status, v.value]));
};

describe('automatic cleanup of finished sagas', () => {
  it('removes finished sagas past retention in bounded batches, keeps running and recent ones, and counts what it removed', async () => {
    await sagas(1, 250, 'completed', 40);
    await sagas(2, 30, 'compensated', 35);
    await sagas(3, 20, 'failed', 31);
    await sagas(4, 40, 'completed', 5); // recent: kept
    await sagas(5, 10, 'running', null); // unfinished: kept, however old it started
    await sql`UPDATE sagas SET started_at = now() - interval '90 days' WHERE status = 'running'`;
    await sagas(6, 5, 'compensating', null); // unfinished: kept

    const registry = new Registry();
    const removed = sagaPurgeCounter(registry);
    const purger = new PostgresFinishedSagaPurger(sql);
    const options = { retentionSeconds: 30 * DAY, batch: 100, maxBatches: 2 };

    // One pass does at most maxBatches × batch: 200 of the 300 due.
    expect(await purgeFinishedSagas(purger, options, removed)).toBe(200);
    // The oldest first: what is left of the due ones is the youngest of them.
    const [left] = await sql<{ completed: number; compensated: number; failed: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'completed' AND finished_at < now() - interval '30 days')::int AS completed,
             count(*) FILTER (WHERE status = 'compensated')::int AS compensated,
             count(*) FILTER (WHERE status = 'failed')::int AS failed
      FROM sagas`;
    expect(left).toEqual({ completed: 50, compensated: 30, failed: 20 });

    expect(await purgeFinishedSagas(purger, options, removed)).toBe(100);
    expect(await purgeFinishedSagas(purger, options, removed)).toBe(0);

    const kept = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM sagas GROUP BY status ORDER BY status`;
    expect(kept).toEqual([
      { status: 'compensating', n: 5 },
      { status: 'completed', n: 40 },
      { status: 'running', n: 10 },
    ]);
    // Requests keep their own outcome.
    const [requests] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM enrollment_requests`;
    expect(requests!.n).toBe(355);
    expect(await purgedCount(registry)).toEqual({ completed: 250, compensated: 30, failed: 20 });
  });

  it('is off with a retention of 0', async () => {
    await sagas(7, 5, 'completed', 400);
    const registry = new Registry();
    const purger = new PostgresFinishedSagaPurger(sql);
    expect(await purgeFinishedSagas(purger, { retentionSeconds: 0, batch: 100, maxBatches: 10 }, sagaPurgeCounter(registry))).toBe(0);
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM sagas WHERE finished_at < now() - interval '399 days'`;
    expect(row!.n).toBe(5);
  });

  it('finds each batch by a range scan of the finished-time index, oldest first with no sort of the table', async () => {
    const plan = await sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL enable_bitmapscan = off`;
      return tx.unsafe(`EXPLAIN DELETE FROM sagas WHERE id = ANY(ARRAY(
        SELECT id FROM sagas
        WHERE status IN ('completed', 'compensated', 'failed') AND finished_at < now() - make_interval(secs => 2592000)
        ORDER BY finished_at LIMIT 1000 FOR UPDATE SKIP LOCKED))`);
    });
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using sagas_finished on sagas/);
    expect(text).not.toMatch(/Seq Scan/);
    // Oldest first straight from the index: no sort by finished time (the planner may still sort
    // the at most LIMIT ids it found to join them back, which costs the batch, not the table).
    expect(text).toMatch(/Limit[^]*LockRows[^]*Index Scan using sagas_finished/);
    expect(text).not.toMatch(/Sort Key: [^\n]*finished_at/);
  });
});

/**
 * The ops purge (`DELETE /api/ops/sagas`), which an operator may point at a year of sagas: it
 * deletes in batches by index and stops when the caller's time is up, saying whether any are left,
 * instead of one statement over every matching row (locks and WAL held to the end, and an answer
 * nobody waits for any more).
 */
describe('the ops purge of finished sagas (and the automatic one’s plan)', () => {
  it('purges only the asked status, batch by batch, until none is left', async () => {
    await sql`DELETE FROM sagas`;
    await sagas(20, 2_500, 'completed', 3);
    await sagas(21, 40, 'compensated', 3);
    await sagas(22, 10, 'running', null);
    const ops = new PostgresOpsStore(sql);
    expect(await ops.purgeSagas('completed', 0, Date.now() + 60_000, 1_000)).toEqual({ purged: 2_500, complete: true });
    const kept = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM sagas GROUP BY status ORDER BY status`;
    expect(kept).toEqual([
      { status: 'compensated', n: 40 },
      { status: 'running', n: 10 },
    ]);
  });

  it('stops after the batch in hand once its time is up, and the next call goes on', async () => {
    await sql`DELETE FROM sagas`;
    await sagas(23, 1_000, 'completed', 9);
    await sagas(25, 1_000, 'completed', 6);
    await sagas(26, 500, 'completed', 3);
    const ops = new PostgresOpsStore(sql);
    // Time already up: one batch, the oldest, then it answers.
    expect(await ops.purgeSagas('completed', 0, Date.now() - 1, 1_000)).toEqual({ purged: 1_000, complete: false });
    const [{ oldest }] = (await sql<{ oldest: number }[]>`
      SELECT round(extract(epoch FROM now() - min(finished_at)) / 86400)::int AS oldest FROM sagas`) as [{ oldest: number }];
    expect(oldest).toBe(6);
    expect(await ops.purgeSagas('completed', 0, Date.now() - 1, 1_000)).toEqual({ purged: 1_000, complete: false });
    expect(await ops.purgeSagas('completed', 0, Date.now() + 60_000, 1_000)).toEqual({ purged: 500, complete: true });
    expect(await ops.purgeSagas('completed', 0, Date.now() + 60_000, 1_000)).toEqual({ purged: 0, complete: true });
  });

  it('each batch is a range scan of the finished-time index, then deletes by key: no scan of the table, also as a generic plan', async () => {
    await sagas(24, 20_000, 'completed', 3);
    await sql`ANALYZE sagas`;
    const { pool, statements: sent } = capturing(database.url, 'saga-purge-it', 1);
    try {
      await new PostgresOpsStore(pool).purgeSagas('completed', 3_600, Date.now() - 1, 1_000);
      await new PostgresFinishedSagaPurger(pool).purgeBatch(3_600, 1_000);
    } finally {
      await pool.end({ timeout: 5 });
    }
    const purges = sent.filter((s) => /DELETE FROM sagas/.test(s.query));
    expect(purges).toHaveLength(2); // the ops purge, the automatic cleanup
    // The planner left free (sequential scans allowed): joining the batch back to the table by
    // `id IN (…)` hashes it against a sequential scan of every saga once the table is this size.
    const [ops, automatic] = await Promise.all(purges.map((purge) => explainGeneric(sql, purge, true)));
    for (const plan of [ops!, automatic!]) expect(plan).not.toMatch(/Seq Scan/);
    // The ops purge names one status: (status, finished_at) bounds it to that status's oldest, so
    // purging a rare status does not walk past every older saga of the others.
    expect(ops).toMatch(/Index Scan using sagas_status on sagas[^\n]*\n\s*Index Cond: \(\(status = \$1\)/);
    expect(automatic).toMatch(/Index Scan using sagas_finished on sagas/);
  });
});
