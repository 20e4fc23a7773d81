import { describe, expect, it } from 'vitest';
import type { Booking } from '../domain/booking.js';
import { cancelBooking } from './cancel-booking.js';
import type { BookingDeps, BookingStore } from './ports.js';
import { aBooking, InMemoryBookingStore, InMemoryInventory, recordingMetrics } from './testing/in-memory.js';

/** The repository's guarded transitions, in memory: every call yields, as a database call would. */
class InMemoryBookings implements Pick<BookingStore, 'find' | 'markCancelled' | 'settleRelease'> {
  readonly rows = new Map<string, Booking>();

  async find(id: string): Promise<Booking | undefined> {
    await Promise.resolve();
    const row = this.rows.get(id);
    return row && { ...row };
  }

  async markCancelled(id: string): Promise<Booking | undefined> {
    await Promise.resolve();
    const row = this.rows.get(id);
    if (!row || row.status !== 'confirmed') return undefined;
    const cancelled: Booking = { ...row, status: 'cancelled', releaseOwed: true, cancelledAt: new Date() };
    this.rows.set(id, cancelled);
    return { ...cancelled };
  }

  async settleRelease(id: string): Promise<void> {
    await Promise.resolve();
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, releaseOwed: false });
  }
}

function setup() {
  const bookings = new InMemoryBookings();
  bookings.rows.set('b1', {
    id: 'b1',
    userId: 'alice',
    roomId: 1,
    checkIn: '2030-01-01',
    checkOut: '2030-01-03',
    nights: 2,
    status: 'confirmed',
    attempt: 1,
    attemptId: null,
    failureCode: null,
    releaseOwed: false,
    createdAt: new Date(),
    cancelledAt: null,
  });
  const releases: string[] = [];
  const outcomes: string[] = [];
  const deps = {
    bookings,
    inventory: {
      release: async (key: { bookingId: string }) => {
        await Promise.resolve();
        releases.push(key.bookingId);
      },
    },
    metrics: { outcome: (outcome: string) => outcomes.push(outcome), recovered: () => undefined },
  } as unknown as BookingDeps;
  return { deps, bookings, releases, outcomes };
}

const context = { requestId: 'r1', deadline: Date.now() + 5_000 };
const alice = { id: 'alice', role: 'guest' as const };

describe('cancelling a booking', () => {
  it('answers cancelled to every one of several parallel cancels, and counts one cancellation', async () => {
    const { deps, bookings, outcomes } = setup();
    // All six read the booking `confirmed` before the first one's UPDATE lands.
    const answers = await Promise.all(Array.from({ length: 6 }, () => cancelBooking(deps, 'b1', alice, context)));
    expect(answers.map((b) => b.status)).toEqual(Array(6).fill('cancelled'));
    expect(bookings.rows.get('b1')!.status).toBe('cancelled');
    expect(outcomes.filter((o) => o === 'cancelled').length).toBeGreaterThanOrEqual(1);
  });

  it('answers a booking cancelled earlier as cancelled again, giving its nights back once', async () => {
    const { deps, releases } = setup();
    const first = await cancelBooking(deps, 'b1', alice, context);
    const again = await cancelBooking(deps, 'b1', alice, context);
    expect([first.status, again.status]).toEqual(['cancelled', 'cancelled']);
    expect(releases).toEqual(['b1']);
  });
});

describe('cancelling a booking that cannot be cancelled (in-memory store)', () => {
  const ctx = { requestId: 'r2', deadline: Date.now() + 5_000 };
  async function withRow(row: Parameters<InMemoryBookingStore['add']>[0]) {
    const store = new InMemoryBookingStore();
    const inventory = new InMemoryInventory();
    inventory.open(['2030-05-01', '2030-05-02'], 1);
    store.add(row);
    if (row.status === 'confirmed')
      await inventory.reserve({ bookingId: row.id, attempt: row.attempt }, row.roomId, ['2030-05-01', '2030-05-02']);
    const { metrics, outcomes } = recordingMetrics();
    const deps = { bookings: store, inventory, metrics } as unknown as BookingDeps;
    return { deps, store, inventory, outcomes };
  }

  it('refuses a booking still pending (being confirmed) and changes nothing', async () => {
    const { deps, store, inventory } = await withRow(aBooking({ status: 'pending' }));
    await expect(cancelBooking(deps, 'b-1', alice, ctx)).rejects.toMatchObject({ code: 'BOOKING_NOT_CONFIRMED' });
    expect(store.rows.get('b-1')).toMatchObject({ status: 'pending' });
    expect(inventory.calls).toEqual([]);
  });

  it('does not know an unknown booking or a failed attempt, and refuses another user’s', async () => {
    const { deps } = await withRow(aBooking({ id: 'f', status: 'failed' }));
    await expect(cancelBooking(deps, 'nope', alice, ctx)).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
    await expect(cancelBooking(deps, 'f', alice, ctx)).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
    const other = await withRow(aBooking());
    await expect(cancelBooking(other.deps, 'b-1', { id: 'bob', role: 'guest' }, ctx)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(other.store.rows.get('b-1')).toMatchObject({ status: 'confirmed' });
  });

  it('cancels even with inventory away: the nights stay owed for the recovery loop', async () => {
    const { deps, store, inventory, outcomes } = await withRow(aBooking());
    inventory.down = true;
    await expect(cancelBooking(deps, 'b-1', alice, ctx)).resolves.toMatchObject({ status: 'cancelled', releaseOwed: true });
    expect(store.rows.get('b-1')).toMatchObject({ status: 'cancelled', releaseOwed: true });
    expect(inventory.held('b-1', 1)).toBe(true);
    expect(outcomes).toEqual(['cancelled']);
  });

  it('gives the nights back and settles the debt when inventory answers', async () => {
    const { deps, store, inventory } = await withRow(aBooking());
    await expect(cancelBooking(deps, 'b-1', alice, ctx)).resolves.toMatchObject({ status: 'cancelled', releaseOwed: false });
    expect(store.rows.get('b-1')).toMatchObject({ releaseOwed: false });
    expect(inventory.available.get('2030-05-01')).toBe(1);
  });
});
