import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresOpsStore } from '../../services/enrollment/src/adapters/postgres/ops-store.js';
import { migratedDatabase } from './database.js';

/**
 * Enrollment's expired-key purge (the recovery loop, every few seconds): a pass deletes a
 * bounded number of keys, oldest first, by index — not every expired key in one statement, which
 * at a first start after a long stop held locks on, and wrote WAL for, the whole backlog at once.
 */
describe('purgeExpiredKeys', () => {
  let database: Awaited<ReturnType<typeof migratedDatabase>>;
  let sql: Sql;

  beforeAll(async () => {
    database = await migratedDatabase('enrollment', 2);
    sql = database.sql;
    await sql`INSERT INTO enrollment_requests (id, student_id, term, sections) VALUES ('00000000-0000-4000-8000-000000000001', 's', 't', '{}')`;
    // 12,000 expired keys (expired 1 to 12,000 seconds ago) and 100 live ones.
    await sql`
      INSERT INTO idempotency_keys (key, request_id, fingerprint, derived, response, expires_at)
      SELECT 'k-' || g, '00000000-0000-4000-8000-000000000001', 'f', false, '{}',
             CASE WHEN g <= 12000 THEN now() - make_interval(secs => g) ELSE now() + interval '1 hour' END
      FROM generate_series(1, 12100) g`;
    await sql`ANALYZE idempotency_keys`;
  });

  afterAll(() => database?.drop());

  it('deletes at most batch × maxBatches expired keys a pass, the oldest first, and no live one', async () => {
    const ops = new PostgresOpsStore(sql);
    expect(await ops.purgeExpiredKeys(1_000, 3)).toBe(3_000);
    const [left] = await sql<{ expired: number; live: number; oldest_left: number }[]>`
      SELECT count(*) FILTER (WHERE expires_at <= now())::int AS expired, count(*) FILTER (WHERE expires_at > now())::int AS live,
             max(substr(key, 3)::int) FILTER (WHERE expires_at <= now()) AS oldest_left
      FROM idempotency_keys`;
    // k-12000 … k-9001 expired longest ago: those went first.
    expect(left).toEqual({ expired: 9_000, live: 100, oldest_left: 9_000 });
    // Later passes go on where it stopped, and stop when nothing is left.
    expect(await ops.purgeExpiredKeys(1_000, 5)).toBe(5_000);
    expect(await ops.purgeExpiredKeys()).toBe(4_000);
    expect(await ops.purgeExpiredKeys()).toBe(0);
    const [{ n }] = (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idempotency_keys`) as [{ n: number }];
    expect(n).toBe(100);
  });

  it('each batch is an index range scan that reads only its batch', async () => {
    await sql`
      INSERT INTO idempotency_keys (key, request_id, fingerprint, derived, response, expires_at)
      SELECT 'x-' || g, '00000000-0000-4000-8000-000000000001', 'f', false, '{}', now() - make_interval(secs => g)
      FROM generate_series(1, 5000) g`;
    await sql`ANALYZE idempotency_keys`;
    let plan = '';
    await sql
      .begin(async (tx) => {
        const rows = await tx.unsafe(`
          EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED))`);
        plan = JSON.stringify(rows[0]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    // The statement purgeExpiredKeys sends, with a batch of 100 among 5,000 expired keys.
    expect(plan).toContain('idempotency_keys_expiry');
    expect(plan).not.toContain('Seq Scan');
    const scanned = [...plan.matchAll(/"Index Name":"idempotency_keys_expiry"[^}]*?"Actual Rows":(\d+)/g)].map((m) => Number(m[1]));
    expect(scanned.length).toBeGreaterThan(0);
    for (const rows of scanned) expect(rows).toBeLessThanOrEqual(100);
  });
});
