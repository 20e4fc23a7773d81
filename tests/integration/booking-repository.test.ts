import { randomUUID } from 'node:crypto';
import type { Sql } from '@cupo/database';
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
