import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeys, defaultUrls } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countsAt, loadHistory } from '../../tools/bench/src/history.js';
import { migratedDatabase } from './database.js';

/**
 * `make bench-scale`'s history loader at a tiny scale factor, against the services' real
 * migrations: it must keep loading as the schemas change (a loader that no longer fits a table
 * fails here, not on the day someone wants the figures), and what it writes must be history
 * the services could have written themselves.
 */
const FACTOR = 0.0005;
type Db = Awaited<ReturnType<typeof migratedDatabase>>;
let dbs: Record<'inventory' | 'booking' | 'enrollment' | 'worker', Db>;
const prefix = `cupo:it-history-${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  const [inventory, booking, enrollment, worker] = await Promise.all(
    (['inventory', 'booking', 'enrollment', 'worker'] as const).map((service) => migratedDatabase(service, 2)),
  );
  dbs = { inventory: inventory!, booking: booking!, enrollment: enrollment!, worker: worker! };
});

afterAll(async () => {
  await Promise.all(Object.values(dbs ?? {}).map((db) => db.drop()));
  await deleteKeys(defaultUrls().redisUrl, prefix);
});

describe('the data-scale history loader', () => {
  it('loads every table at a small factor, consistent with the services’ own rules', async () => {
    const n = countsAt(FACTOR);
    await loadHistory(
      {
        databaseUrls: { inventory: dbs.inventory.url, booking: dbs.booking.url, enrollment: dbs.enrollment.url, worker: dbs.worker.url },
        redisUrl: defaultUrls().redisUrl,
        redisKeyPrefix: prefix,
      },
      FACTOR,
    );
    const count = async (db: Db, table: string) => (await db.sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n as number;
    expect(await count(dbs.inventory, 'rooms')).toBe(n.rooms);
    expect(await count(dbs.inventory, 'room_nights')).toBe(n.rooms * 365);
    expect(await count(dbs.booking, 'bookings')).toBe(n.bookings);
    expect(await count(dbs.enrollment, 'students')).toBe(n.students);
    expect(await count(dbs.enrollment, 'sections')).toBe(n.sections);
    expect(await count(dbs.enrollment, 'enrollment_requests')).toBe(n.requests);
    expect(await count(dbs.enrollment, 'sagas')).toBe(n.requests);
    expect(await count(dbs.enrollment, 'idempotency_keys')).toBe(n.requests);
    expect(await count(dbs.worker, 'queries')).toBe(n.queries);
    expect(await count(dbs.worker, 'tasks')).toBe(n.tasks);

    // Seats as the saga leaves them: every section's count is its held and active seats.
    const broken = await dbs.enrollment.sql`
      SELECT s.code FROM sections s
      WHERE s.enrolled <> (SELECT count(*) FROM enrollments e WHERE e.section = s.code AND e.status IN ('held', 'active'))`;
    expect(broken).toEqual([]);
    // Sagas in the shape the saga module writes (domain/saga.ts), which the ops list validates
    // against its contract on the way out: a made-up step would answer 500 at scale.
    const [odd] = await dbs.enrollment.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM sagas, jsonb_array_elements(steps) step
      WHERE step->>'name' NOT IN ('validate_request', 'reserve_seat', 'confirm_enrollment')
         OR step->>'status' NOT IN ('pending', 'completed', 'failed', 'compensated', 'skipped')
         OR (step->>'name' = 'reserve_seat') <> (step ? 'section')
         OR (step->>'status' = 'failed') <> (step ? 'error')`;
    expect(odd!.n).toBe(0);
    // Ids the contracts accept (z.uuid() checks the version and variant digits): lists of
    // tasks or sagas with one bad id answer 500.
    const ids = [
      ...(await dbs.booking.sql<{ id: string }[]>`SELECT id::text FROM bookings`),
      ...(await dbs.enrollment.sql<{ id: string }[]>`SELECT id::text FROM sagas UNION ALL SELECT id::text FROM enrollments`),
      ...(await dbs.worker.sql<{ id: string }[]>`SELECT id::text FROM tasks UNION ALL SELECT id::text FROM queries`),
    ].map((row) => row.id);
    expect(ids.filter((id) => !z.uuid().safeParse(id).success)).toEqual([]);
    // Every reservation still held belongs to a confirmed booking (nothing for the reconciler to repair).
    const held = await dbs.inventory.sql<{ id: string }[]>`SELECT booking_id::text AS id FROM reservations WHERE status = 'reserved'`;
    const [confirmed] = await dbs.booking.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM bookings WHERE status = 'confirmed' AND id = ANY(${held.map((r) => r.id)}::uuid[])`;
    expect(confirmed!.n).toBe(held.length);
    // Nothing left unfinished for the sweeps to pick up.
    expect((await dbs.enrollment.sql`SELECT 1 FROM enrollment_requests WHERE status IN ('queued', 'processing')`).length).toBe(0);
    expect((await dbs.worker.sql`SELECT 1 FROM tasks WHERE status <> 'completed'`).length).toBe(0);

    const redis = new Redis(defaultUrls().redisUrl);
    try {
      let keys = 0;
      for await (const batch of redis.scanStream({ match: `${prefix}idem:*`, count: 1000 })) keys += (batch as string[]).length;
      expect(keys).toBe(n.redisKeys);
    } finally {
      redis.disconnect();
    }
  });
});
