import { randomUUID } from 'node:crypto';
import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresInventoryStore as InventoryStore } from '../../services/inventory/src/adapters/postgres/inventory-store.js';
import { migratedDatabase } from './database.js';

let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;
let store: InventoryStore;

beforeAll(async () => {
  database = await migratedDatabase('inventory');
  sql = database.sql;
  store = new InventoryStore(sql);
});

afterAll(() => database?.drop());

const nights = ['2030-03-01', '2030-03-02', '2030-03-03'];

describe('reserving nights', () => {
  it('lets exactly one of 30 simultaneous reserves take the last unit', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 1 }, '2030-03-01', 5);
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => store.reserve(randomUUID(), 1, room.id, nights)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes.filter((o) => o.status === 'rejected')) {
      expect((o as PromiseRejectedResult).reason.code).toBe('ROOM_UNAVAILABLE');
    }
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([0, 0, 0]);
  });

  it('takes all nights or none: a partly sold-out range changes nothing', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 1 }, '2030-03-01', 5);
    await store.reserve(randomUUID(), 1, room.id, ['2030-03-02']);
    await expect(store.reserve(randomUUID(), 1, room.id, nights)).rejects.toMatchObject({
      code: 'ROOM_UNAVAILABLE',
      details: { nights: ['2030-03-02'] },
    });
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([1, 0, 1]);
  });

  it('reserves once per booking however often the command is redelivered', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 3 }, '2030-03-01', 5);
    const booking = randomUUID();
    await Promise.all(Array.from({ length: 5 }, () => store.reserve(booking, 1, room.id, nights)));
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([2, 2, 2]);
  });

  it('refuses nights that are not on sale, and rooms that do not exist', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 3 }, '2030-03-01', 2);
    await expect(store.reserve(randomUUID(), 1, room.id, nights)).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    await expect(store.reserve(randomUUID(), 1, 987_654, nights)).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
  });
});

describe('releasing nights', () => {
  it('gives the nights back once, however often it is asked', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 2 }, '2030-03-01', 5);
    const booking = randomUUID();
    await store.reserve(booking, 1, room.id, nights);
    await Promise.all(Array.from({ length: 4 }, () => store.release(booking, 1, room.id, nights)));
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([2, 2, 2]);
  });

  it('leaves a tombstone so a reserve arriving after its release is refused', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 2 }, '2030-03-01', 5);
    const booking = randomUUID();
    await store.release(booking, 1, room.id, nights);
    await expect(store.reserve(booking, 1, room.id, nights)).rejects.toMatchObject({ code: 'RESERVATION_RELEASED' });
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([2, 2, 2]);
  });

  it('returns the nights of a reserve that was still in flight when the release arrived', async () => {
    // The compensation race: booking gives up on a reserve (timeout) and releases while the
    // reserve is still running. Interleaving forced with a transaction holding the nights.
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 2 }, '2030-03-01', 5);
    const booking = randomUUID();
    const blocker = await sql.reserve();
    try {
      await blocker`BEGIN`;
      await blocker`SELECT 1 FROM room_nights WHERE room_id = ${room.id} FOR UPDATE`;
      const reserving = store.reserve(booking, 1, room.id, nights);
      await waitForLockWaiters(1); // the reserve wrote its reservation row, waits for the nights
      const releasing = store.release(booking, 1, room.id, nights);
      await waitForLockWaiters(2); // the release waits on that uncommitted reservation row
      await blocker`COMMIT`;
      await expect(reserving).resolves.toBe('reserved');
      await expect(releasing).resolves.toBe('released');
    } finally {
      blocker.release();
    }
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([2, 2, 2]);
    const [reservation] = await sql`SELECT status FROM reservations WHERE booking_id = ${booking}`;
    expect(reservation?.status).toBe('released');
  });

  it('lets a booking reserve again under its next attempt once an attempt was released', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 1 }, '2030-03-01', 5);
    const booking = randomUUID();
    await store.reserve(booking, 1, room.id, nights);
    await store.release(booking, 1, room.id, nights);
    // The first attempt's tombstone still refuses that attempt's late reserve…
    await expect(store.reserve(booking, 1, room.id, nights)).rejects.toMatchObject({ code: 'RESERVATION_RELEASED' });
    // …while the retry reserves under its own number, once.
    await Promise.all([store.reserve(booking, 2, room.id, nights), store.reserve(booking, 2, room.id, nights)]);
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([0, 0, 0]);
  });

  it('cannot push availability above the total even if asked to by hand', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 1 }, '2030-03-01', 1);
    await expect(sql`UPDATE room_nights SET available = available + 1 WHERE room_id = ${room.id}`).rejects.toMatchObject({
      constraint_name: 'room_nights_available_within_total',
    });
  });
});

describe('a rolling upgrade', () => {
  it('leaves the previous version’s reserve and release working on the migrated table', async () => {
    // The statements of the version before booking attempts (0f26fd2), which keeps serving
    // while its replicas are replaced: ON CONFLICT (booking_id) needs the key unchanged.
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 2 }, '2030-03-01', 5);
    const booking = randomUUID();
    const reserveTheOldWay = () => sql`
      INSERT INTO reservations (booking_id, room_id, nights, status, reserved_at)
      VALUES (${booking}, ${room.id}, ${nights}::date[], 'reserved', now())
      ON CONFLICT (booking_id) DO NOTHING
      RETURNING booking_id`;
    expect(await reserveTheOldWay()).toHaveLength(1);
    expect(await reserveTheOldWay()).toHaveLength(0);
    // The new version reads that reservation as the booking's first attempt.
    expect(await store.heldAmong([{ booking_id: booking, attempt: 1 }])).toEqual([{ booking_id: booking, attempt: 1 }]);
  });
});

describe('what the reconciler reads', () => {
  it('pages through the reservations holding nights, oldest first, and tells which attempts hold', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 10 }, '2030-03-01', 5);
    const held = [randomUUID(), randomUUID(), randomUUID()];
    for (const booking of held) await store.reserve(booking, 1, room.id, ['2030-03-01']);
    const released = randomUUID();
    await store.reserve(released, 1, room.id, ['2030-03-02']);
    await store.release(released, 1, room.id, ['2030-03-02']);

    const seen: string[] = [];
    let after;
    for (;;) {
      const page = await store.heldReservations(after, 0, 2);
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.booking_id));
      const last = page[page.length - 1]!;
      after = { reserved_at: last.reserved_at, booking_id: last.booking_id, attempt: last.attempt };
    }
    expect(seen.filter((id) => held.includes(id)).sort()).toEqual([...held].sort());
    expect(seen).not.toContain(released);
    // Too young to judge: a booking may still be confirming it.
    expect((await store.heldReservations(undefined, 60_000, 10)).map((r) => r.booking_id)).not.toContain(held[0]);

    const among = await store.heldAmong([
      { booking_id: held[0]!, attempt: 1 },
      { booking_id: held[0]!, attempt: 2 },
      { booking_id: released, attempt: 1 },
    ]);
    expect(among).toEqual([{ booking_id: held[0], attempt: 1 }]);
  });
});

async function waitForLockWaiters(count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (row!.n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never saw ${count} backends waiting on a lock`);
}
