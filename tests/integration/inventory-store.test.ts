import { randomUUID } from 'node:crypto';
import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryStore } from '../../services/inventory/src/inventory-store.js';
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
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () => store.reserve(randomUUID(), room.id, nights)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes.filter((o) => o.status === 'rejected')) {
      expect((o as PromiseRejectedResult).reason.code).toBe('ROOM_UNAVAILABLE');
    }
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([0, 0, 0]);
  });

  it('takes all nights or none: a partly sold-out range changes nothing', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 1 }, '2030-03-01', 5);
    await store.reserve(randomUUID(), room.id, ['2030-03-02']);
    await expect(store.reserve(randomUUID(), room.id, nights)).rejects.toMatchObject({
      code: 'ROOM_UNAVAILABLE',
      details: { nights: ['2030-03-02'] },
    });
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([1, 0, 1]);
  });

  it('reserves once per booking however often the command is redelivered', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 3 }, '2030-03-01', 5);
    const booking = randomUUID();
    await Promise.all(Array.from({ length: 5 }, () => store.reserve(booking, room.id, nights)));
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([2, 2, 2]);
  });

  it('refuses nights that are not on sale, and rooms that do not exist', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 3 }, '2030-03-01', 2);
    await expect(store.reserve(randomUUID(), room.id, nights)).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    await expect(store.reserve(randomUUID(), 987_654, nights)).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
  });
});

describe('releasing nights', () => {
  it('gives the nights back once, however often it is asked', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 2 }, '2030-03-01', 5);
    const booking = randomUUID();
    await store.reserve(booking, room.id, nights);
    await Promise.all(Array.from({ length: 4 }, () => store.release(booking, room.id, nights)));
    const availability = await store.getAvailability(room.id, '2030-03-01', '2030-03-04');
    expect(availability.map((n) => n.available)).toEqual([2, 2, 2]);
  });

  it('leaves a tombstone so a reserve arriving after its release is refused', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 2 }, '2030-03-01', 5);
    const booking = randomUUID();
    await store.release(booking, room.id, nights);
    await expect(store.reserve(booking, room.id, nights)).rejects.toMatchObject({ code: 'RESERVATION_RELEASED' });
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
      const reserving = store.reserve(booking, room.id, nights);
      await waitForLockWaiters(1); // the reserve wrote its reservation row, waits for the nights
      const releasing = store.release(booking, room.id, nights);
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

  it('cannot push availability above the total even if asked to by hand', async () => {
    const room = await store.createRoom({ name: 'r', type: 't', total_quantity: 1 }, '2030-03-01', 1);
    await expect(sql`UPDATE room_nights SET available = available + 1 WHERE room_id = ${room.id}`).rejects.toMatchObject({
      constraint_name: 'room_nights_available_within_total',
    });
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
