import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createRoom,
  day,
  eventually,
  invariantViolations,
  nightStates,
  reservationMismatches,
  startTestStack,
  token,
  type TestStack,
} from './support.js';

/**
 * The reconciler compares the two databases behind bookings. Orphans are injected by hand,
 * as a bug or a restored backup would leave them, and must be settled without anyone asking.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack('reconcile', {
    serviceEnv: {
      booking: {
        INVENTORY_TIMEOUT_MS: '1000',
        LOCK_WAIT_MS: '1000',
        STALE_PENDING_MS: '2500',
        RELEASE_GRACE_MS: '300',
        RECOVERY_INTERVAL_MS: '200',
        RECONCILE_INTERVAL_MS: '200',
        RECONCILE_GRACE_MS: '3000',
        RECONCILE_PAGE_SIZE: '2',
      },
    },
  });
  api = apiClient(stack.gatewayUrl);
});

afterAll(async () => {
  await stack?.close();
});

async function reconciled(kind: string, action: string): Promise<number> {
  let total = 0;
  for (const proc of stack.processes.filter((p) => p.name.startsWith('booking') && p.child.exitCode === null)) {
    const metrics = await fetch(`http://127.0.0.1:${proc.port}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('booking_reconciliations_total') && l.includes(`kind="${kind}"`) && l.includes(`action="${action}"`));
    total += Number(line?.split(' ').pop() ?? 0);
  }
  return total;
}

async function available(roomId: number, night: string): Promise<number> {
  const [row] = await stack.inventoryDb`SELECT available FROM room_nights WHERE room_id = ${roomId} AND night = ${night}`;
  return row!.available;
}

/** Makes a confirmed booking look old enough for the reconciler to judge. */
async function age(bookingId: string): Promise<void> {
  await stack.bookingDb`UPDATE bookings SET confirmed_at = now() - interval '1 minute' WHERE id = ${bookingId}`;
  await stack.inventoryDb`UPDATE reservations SET reserved_at = now() - interval '1 minute' WHERE booking_id = ${bookingId}`;
}

/** Inventory "forgets" a booking's nights, as a restored backup or a bug would. */
async function loseNights(bookingId: string): Promise<void> {
  await stack.inventoryDb.begin(async (tx) => {
    const [held] = await tx<{ room_id: number; nights: string[] }[]>`
      DELETE FROM reservations WHERE booking_id = ${bookingId} RETURNING room_id, nights::text[] AS nights`;
    await tx`UPDATE room_nights SET available = available + 1 WHERE room_id = ${held!.room_id} AND night = ANY(${held!.nights}::date[])`;
  });
}

describe('the reconciler', () => {
  it('releases nights that inventory holds for no booking', async () => {
    const room = await createRoom(api, { name: 'Orphan nights', total_quantity: 2 });
    const night = day(3);
    // Several ordinary bookings too, so the walk has pages to go through.
    for (let i = 0; i < 3; i++) {
      const ok = await api('POST', '/api/bookings', {
        token: await token(`rec-${i}`),
        body: { room_id: room.id, check_in: day(10 + i), check_out: day(11 + i) },
      });
      expect(ok.status).toBe(201);
      await age(ok.body.id);
    }
    const orphan = randomUUID();
    await stack.inventoryDb.begin(async (tx) => {
      await tx`
        INSERT INTO reservations (booking_id, attempt, room_id, nights, status, reserved_at)
        VALUES (${orphan}, 1, ${room.id}, ARRAY[${night}]::date[], 'reserved', now() - interval '1 minute')`;
      await tx`UPDATE room_nights SET available = available - 1 WHERE room_id = ${room.id} AND night = ${night}`;
    });
    expect(await available(room.id, night)).toBe(1);
    const before = await reconciled('reservation_without_booking', 'released');

    expect(await eventually(async () => (await available(room.id, night)) === 2, 20_000)).toBe(true);
    const [reservation] = await stack.inventoryDb`SELECT status FROM reservations WHERE booking_id = ${orphan}`;
    expect(reservation?.status).toBe('released');
    expect(await reconciled('reservation_without_booking', 'released')).toBeGreaterThan(before);
    expect(await reservationMismatches(stack)).toEqual([]);
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
  });

  it('reserves again the nights of a confirmed booking that inventory lost', async () => {
    const room = await createRoom(api, { name: 'Lost nights', total_quantity: 2 });
    const booked = await api('POST', '/api/bookings', {
      token: await token('rec-lost'),
      body: { room_id: room.id, check_in: day(4), check_out: day(6) },
    });
    expect(booked.status).toBe(201);
    await age(booked.body.id);
    await loseNights(booked.body.id);
    expect(await available(room.id, day(4))).toBe(2);

    expect(await eventually(async () => (await available(room.id, day(4))) === 1 && (await available(room.id, day(5))) === 1, 20_000)).toBe(
      true,
    );
    const [row] = await stack.bookingDb`SELECT status FROM bookings WHERE id = ${booked.body.id}`;
    expect(row?.status).toBe('confirmed');
    expect(await reconciled('booking_without_nights', 'restored')).toBeGreaterThan(0);
    expect(await reservationMismatches(stack)).toEqual([]);
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
  });

  it('cancels, as NIGHTS_LOST, a confirmed booking whose lost nights were sold since', async () => {
    const room = await createRoom(api, { name: 'Resold nights', total_quantity: 1 });
    const booked = await api('POST', '/api/bookings', {
      token: await token('rec-resold'),
      body: { room_id: room.id, check_in: day(7), check_out: day(8) },
    });
    expect(booked.status).toBe(201);
    await loseNights(booked.body.id);
    // Meanwhile someone else buys the night inventory thinks is free.
    const other = await api('POST', '/api/bookings', {
      token: await token('rec-other'),
      body: { room_id: room.id, check_in: day(7), check_out: day(8) },
    });
    expect(other.status).toBe(201);
    await age(booked.body.id);

    expect(
      await eventually(
        async () => (await stack.bookingDb`SELECT status FROM bookings WHERE id = ${booked.body.id}`)[0]?.status === 'cancelled',
        20_000,
      ),
    ).toBe(true);
    const [row] = await stack.bookingDb`SELECT failure_code FROM bookings WHERE id = ${booked.body.id}`;
    expect(row?.failure_code).toBe('NIGHTS_LOST');
    expect(await reconciled('booking_without_nights', 'cancelled')).toBeGreaterThan(0);
    expect(await reservationMismatches(stack)).toEqual([]);
    expect(invariantViolations(await nightStates(stack, room.id))).toEqual([]);
  });
});
