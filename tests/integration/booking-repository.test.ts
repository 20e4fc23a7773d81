import { randomUUID } from 'node:crypto';
import { createPool, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBookingStore } from '../../services/booking/src/adapters/postgres/booking-store.js';
import { migratedDatabase } from './database.js';

let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;
let bookings: PostgresBookingStore;

beforeAll(async () => {
  database = await migratedDatabase('booking');
  sql = database.sql;
  bookings = new PostgresBookingStore(sql);
});

afterAll(() => database?.drop());

const intent = (id = randomUUID()) => ({
  id,
  userId: 'alice',
  roomId: 1,
  checkIn: '2030-05-01',
  checkOut: '2030-05-03',
  nights: 2,
  attemptId: 'request-1',
});

describe('booking state changes belong to one attempt', () => {
  it('never lets a handler of an earlier attempt confirm, fail or settle a later one', async () => {
    const { id } = await bookings.insertPending(intent());
    expect(await bookings.markFailed(id, 1, 'UPSTREAM_TIMEOUT', true)).toMatchObject({ status: 'failed', releaseOwed: true });
    await bookings.settleRelease(id, 1);
    expect(await bookings.restartFailed(id, 'request-2')).toMatchObject({ status: 'pending', attempt: 2 });

    // The first attempt's handler, stalled until now, finishes its work: nothing of it lands.
    expect(await bookings.markConfirmed(id, 1)).toBeUndefined();
    expect(await bookings.markFailed(id, 1, 'RESERVATION_RELEASED', false)).toBeUndefined();
    expect(await bookings.find(id)).toMatchObject({ status: 'pending', attempt: 2 });

    // The second attempt is confirmed, then cancelled: an old attempt's late settle cannot clear its debt.
    expect(await bookings.markConfirmed(id, 2)).toMatchObject({ status: 'confirmed', attempt: 2 });
    expect(await bookings.markCancelled(id)).toMatchObject({ status: 'cancelled', releaseOwed: true });
    await bookings.settleRelease(id, 1);
    expect(await bookings.find(id)).toMatchObject({ releaseOwed: true });
    await bookings.settleRelease(id, 2);
    expect(await bookings.find(id)).toMatchObject({ releaseOwed: false });
  });

  it('records a refusal over a failed attempt only once that attempt owes nothing', async () => {
    const { id } = await bookings.insertPending(intent());
    await bookings.markFailed(id, 1, 'UPSTREAM_TIMEOUT', true);
    expect(await bookings.recordRefusal({ ...intent(id), attemptId: 'request-2' }, 'ROOM_UNAVAILABLE')).toMatchObject({
      attemptId: 'request-1',
      failureCode: 'UPSTREAM_TIMEOUT',
    });
    await bookings.settleRelease(id, 1);
    expect(await bookings.recordRefusal({ ...intent(id), attemptId: 'request-2' }, 'ROOM_UNAVAILABLE')).toMatchObject({
      attemptId: 'request-2',
      failureCode: 'ROOM_UNAVAILABLE',
    });
  });
});

describe('writing a booking pending', () => {
  it('answers the row it wrote, or the row that already had the id, in one statement, changing nothing of it', async () => {
    const counted: string[] = [];
    const countingSql = createPool({ url: database.url, max: 1, applicationName: 'insert-pending', onQuery: (q) => void counted.push(q) });
    try {
      const store = new PostgresBookingStore(countingSql);
      const id = randomUUID();
      expect(await store.insertPending(intent(id))).toMatchObject({ id, status: 'pending', attempt: 1, attemptId: 'request-1' });
      await bookings.markFailed(id, 1, 'ROOM_UNAVAILABLE', false);
      counted.length = 0;
      const again = await store.insertPending({ ...intent(id), attemptId: 'request-2', userId: 'mallory' });
      expect(again).toMatchObject({ id, status: 'failed', userId: 'alice', attemptId: 'request-1', failureCode: 'ROOM_UNAVAILABLE' });
      expect(counted).toHaveLength(1);
    } finally {
      await countingSql.end({ timeout: 5 });
    }
  });

  it('lets exactly one of many simultaneous writers create the row; every one of them answers that row', async () => {
    const id = randomUUID();
    const rows = await Promise.all(
      Array.from({ length: 12 }, (_, i) => bookings.insertPending({ ...intent(id), attemptId: `request-${i}` })),
    );
    expect(new Set(rows.map((row) => row.attemptId)).size).toBe(1);
    expect(rows.every((row) => row.status === 'pending' && row.id === id)).toBe(true);
  });
});
