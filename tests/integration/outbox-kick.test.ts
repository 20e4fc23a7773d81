import { createPool, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSagaStore } from '../../services/enrollment/src/adapters/postgres/saga-store.js';
import { PostgresOnboardingStore } from '../../services/worker/src/adapters/postgres/onboarding-store.js';
import { PostgresQueryStore } from '../../services/worker/src/adapters/postgres/query-store.js';
import { migratedDatabase } from './database.js';

/**
 * Stores wake their outbox relay themselves (issue 14.5): every method that commits outbox
 * rows kicks once, after its commit — the relay's read, started at the kick from another
 * connection, already finds the rows — and a method that wrote none does not kick. This
 * includes planning an ingest's batches, whose messages used to wait for the relay's poll.
 */
type Migrated = Awaited<ReturnType<typeof migratedDatabase>>;
let enrollment: Migrated;
let worker: Migrated;
const pools: Sql[] = [];

beforeAll(async () => {
  [enrollment, worker] = await Promise.all([migratedDatabase('enrollment', 2), migratedDatabase('worker', 2)]);
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
  await Promise.all([enrollment, worker].filter(Boolean).map((database) => database.drop()));
});

/** A relay stand-in that, at each kick, counts the outbox rows another connection can see. */
function observingRelay(database: Migrated) {
  const seen: Promise<number>[] = [];
  return {
    kick: () => void seen.push(database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`.then(([row]) => row!.n)),
    /** The outbox size each kick saw, in order. */
    seen: () => Promise.all(seen),
  };
}

function pool(database: Migrated): Sql {
  const sql = createPool({ url: database.url, max: 2, applicationName: 'outbox-kick' });
  pools.push(sql);
  return sql;
}

describe('stores kick their outbox relay after their own commit', () => {
  it('enrollment: an accepted submit and a recovery sweep that re-announced; not a replay', async () => {
    const relay = observingRelay(enrollment);
    const store = new PostgresSagaStore(pool(enrollment), relay);
    const request = (id: string) => ({
      id,
      studentId: 'RA1',
      term: 'T1',
      sections: ['A'],
      idempotencyKey: 'k1',
      derivedKey: false,
      fingerprint: 'f',
      keyTtlSeconds: 60,
      requestId: 'req',
      response: { request_id: id, status: 'queued' as const, status_url: `/api/enrollments/requests/${id}` },
    });
    expect((await store.submit(request('00000000-0000-4000-8000-000000000001'))).kind).toBe('accepted');
    expect((await store.submit(request('00000000-0000-4000-8000-000000000002'))).kind).toBe('replayed');
    expect(await store.requeueStalled(60_000, 10)).toEqual([]);
    await enrollment.sql`UPDATE enrollment_requests SET updated_at = now() - interval '1 hour'`;
    expect(await store.requeueStalled(60_000, 10)).toHaveLength(1);
    expect(await relay.seen()).toEqual([1, 2]);
  });

  it('worker: a query submitted and re-announced, an ingest created, planned, retried and reaped', async () => {
    const relay = observingRelay(worker);
    const sql = pool(worker);
    const queries = new PostgresQueryStore(sql, relay);
    const onboarding = new PostgresOnboardingStore(sql, 3600, relay);

    const query = await queries.submit(
      crypto.randomUUID(),
      { type: 'occupancy_report', params: { from: '2030-01-01', to: '2030-01-02' } },
      'u',
      'req',
      60_000,
    );
    expect(await queries.requeueStale(60_000)).toBe(0);
    await worker.sql`DELETE FROM outbox`;
    await worker.sql`UPDATE queries SET announced_at = now() - interval '1 hour' WHERE id = ${query.query_id}`;
    expect(await queries.requeueStale(60_000)).toBe(1);

    const ingest = crypto.randomUUID();
    await onboarding.createIngest(ingest, { students: [{ id: 'S1', name: 'n', email: 'n@example.org' }], requestedBy: 'admin' });
    const plan = await onboarding.planIngest(ingest, [{ id: 'S1', name: 'n', email: 'n@example.org' }], 10);
    expect(plan.batches).toHaveLength(1);
    // Planned again: nothing new, nothing announced, no kick.
    expect((await onboarding.planIngest(ingest, [{ id: 'S1', name: 'n', email: 'n@example.org' }], 10)).batches).toEqual(plan.batches);
    const failedIngest = crypto.randomUUID();
    await worker.sql`INSERT INTO tasks (id, type, status) VALUES (${failedIngest}, 'ingest', 'failed')`;
    expect('retried' in (await onboarding.retry(failedIngest, 'admin'))).toBe(true);
    expect('missing' in (await onboarding.retry(crypto.randomUUID(), 'admin'))).toBe(true);
    await worker.sql`UPDATE tasks SET heartbeat_at = now() - interval '1 hour', created_at = now() - interval '1 hour' WHERE status = 'pending' AND type IN ('ingest', 'batch')`;
    expect((await onboarding.reapStale(60_000, 3)).requeued).toBeGreaterThan(0);
    expect((await onboarding.reapStale(60_000, 3)).requeued).toBe(0);

    // query submit 1 row; re-announce 1 (after the delete); ingest +1; plan +1 batch; retry +1; reap +n.
    const seen = await relay.seen();
    const [total] = await worker.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
    expect(seen.slice(0, 5)).toEqual([1, 1, 2, 3, 4]);
    expect(seen).toHaveLength(6);
    expect(seen[5]).toBe(total!.n);
  });
});
