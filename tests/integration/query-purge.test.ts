import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresQueryStore } from '../../services/worker/src/adapters/postgres/query-store.js';
import { migratedDatabase } from './database.js';
import { capturing, explainGeneric } from './plans.js';

/**
 * The worker's query maintenance (every MAINTENANCE_INTERVAL_MS): answers past their lifetime
 * are deleted, and pending queries past their deadline are ended. Each pass does a bounded
 * amount, oldest first, by index — not every matching row in one statement, which after a
 * worker was away for a day held locks on, and wrote WAL for, the whole backlog at once.
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;
const noKick = { kick: () => undefined };

beforeAll(async () => {
  database = await migratedDatabase('worker', 2);
  sql = database.sql;
});

afterAll(() => database?.drop());

/** `n` answered queries that expired 1…n seconds ago (tag g: created g seconds ago), and `live` still kept. */
async function answers(tag: string, n: number, live: number): Promise<void> {
  await sql`
    INSERT INTO queries (id, type, params, requested_by, status, result, processed_at, deadline_at, expires_at, created_at)
    SELECT gen_random_uuid(), ${tag}, '{}', 'u', 'completed', jsonb_build_object('g', g), now(), now(),
           CASE WHEN g <= ${n} THEN now() - make_interval(secs => g) ELSE now() + interval '1 hour' END,
           now() - make_interval(secs => g)
    FROM generate_series(1, ${n + live}) g`;
  await sql`ANALYZE queries`;
}

describe('query maintenance', () => {
  it('purges at most batch × maxBatches expired answers a pass, the oldest first, and no live one', async () => {
    await answers('purge', 12_000, 100);
    const store = new PostgresQueryStore(sql, noKick);
    expect(await store.purgeExpired(1_000, 3)).toBe(3_000);
    const [left] = await sql<{ expired: number; live: number; oldest_left: number }[]>`
      SELECT count(*) FILTER (WHERE expires_at < now())::int AS expired, count(*) FILTER (WHERE expires_at > now())::int AS live,
             max((result->>'g')::int) FILTER (WHERE expires_at < now()) AS oldest_left
      FROM queries WHERE type = 'purge'`;
    // g 12,000 … 9,001 expired longest ago: those went first.
    expect(left).toEqual({ expired: 9_000, live: 100, oldest_left: 9_000 });
    expect(await store.purgeExpired(1_000, 5)).toBe(5_000);
    expect(await store.purgeExpired()).toBe(4_000);
    expect(await store.purgeExpired()).toBe(0);
    const [{ n }] = (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM queries WHERE type = 'purge'`) as [{ n: number }];
    expect(n).toBe(100);
  });

  it('ends at most batch × maxBatches overdue queries a pass, the oldest first, and leaves those still in time', async () => {
    await sql`
      INSERT INTO queries (id, type, params, requested_by, deadline_at, created_at)
      SELECT gen_random_uuid(), 'overdue', jsonb_build_object('g', g), 'u',
             CASE WHEN g <= 700 THEN now() - interval '1 second' ELSE now() + interval '1 hour' END, now() - make_interval(secs => g)
      FROM generate_series(1, 750) g`;
    const store = new PostgresQueryStore(sql, noKick);
    const error = { code: 'QUERY_DEADLINE_EXCEEDED', detail: 'late' };
    expect(await store.failOverdue(error, 60, 200, 2)).toHaveLength(400);
    // The oldest (created longest ago: g 700 … 301) first.
    const [{ youngest_ended }] = (await sql<{ youngest_ended: number }[]>`
      SELECT min((params->>'g')::int) AS youngest_ended FROM queries WHERE type = 'overdue' AND status = 'failed'`) as [
      { youngest_ended: number },
    ];
    expect(youngest_ended).toBe(301);
    // The default pass (500 × 10) ends the rest of the backlog at once.
    expect(await store.failOverdue(error, 60)).toHaveLength(300);
    expect(await store.failOverdue(error, 60)).toHaveLength(0);
    const counts = await sql<{ status: string; n: number }[]>`
      SELECT status, count(*)::int AS n FROM queries WHERE type = 'overdue' GROUP BY status ORDER BY status`;
    expect(counts).toEqual([
      { status: 'failed', n: 700 },
      { status: 'pending', n: 50 },
    ]);
  });

  it('both find their rows by index and delete or update by key: no scan of the table, also as generic plans', async () => {
    await answers('plan', 20_000, 0);
    const { pool, statements: sent } = capturing(database.url, 'query-purge-it', 1);
    try {
      const store = new PostgresQueryStore(pool, noKick);
      await store.purgeExpired(10, 1);
      await store.failOverdue({ code: 'X', detail: 'x' }, 60, 10, 1);
    } finally {
      await pool.end({ timeout: 5 });
    }
    const statements = sent.filter((s) => /DELETE FROM queries|UPDATE queries/.test(s.query));
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      // The planner left free: a join of the batch back by `id IN (…)` may hash the whole table.
      const plan = await explainGeneric(sql, statement, true);
      expect(plan, `${statement.query}\n${plan}`).not.toMatch(/Seq Scan on queries/);
      expect(plan).toMatch(/Index Scan using queries_(expiry|pending)/);
    }
  });
});
