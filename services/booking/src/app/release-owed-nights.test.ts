import { describe, expect, it } from 'vitest';
import { releaseOwedNights } from './release-owed-nights.js';
import { aBooking, InMemoryBookingStore, InMemoryInventory } from './testing/in-memory.js';

const NIGHTS = ['2030-05-01', '2030-05-02'];
const context = { requestId: 'r', deadline: Date.now() + 5_000 };

function setup(owing: boolean) {
  const bookings = new InMemoryBookingStore();
  const inventory = new InMemoryInventory();
  inventory.open(NIGHTS, 1);
  const booking = aBooking({ status: 'cancelled', attempt: 2, releaseOwed: owing });
  bookings.add(booking);
  return { deps: { bookings, inventory }, booking };
}

describe('paying a release debt', () => {
  it('gives the attempt’s nights back, then settles the debt of that attempt', async () => {
    const { deps, booking } = setup(true);
    await deps.inventory.reserve({ bookingId: 'b-1', attempt: 2 }, 7, NIGHTS);
    expect(await releaseOwedNights(deps, booking, context)).toBe(true);
    expect(deps.inventory.held('b-1', 2)).toBe(false);
    expect(deps.inventory.available.get(NIGHTS[0]!)).toBe(1);
    expect(deps.bookings.rows.get('b-1')).toMatchObject({ releaseOwed: false });
    expect(deps.bookings.calls).toEqual(['settleRelease']);
  });

  it('does nothing for a booking owing nothing', async () => {
    const { deps, booking } = setup(false);
    expect(await releaseOwedNights(deps, booking, context)).toBe(false);
    expect(deps.inventory.calls).toEqual([]);
    expect(deps.bookings.calls).toEqual([]);
  });

  it('never throws when inventory is away: the debt stays recorded for the recovery loop', async () => {
    const { deps, booking } = setup(true);
    deps.inventory.down = true;
    expect(await releaseOwedNights(deps, booking, context)).toBe(false);
    expect(deps.bookings.rows.get('b-1')).toMatchObject({ releaseOwed: true });
    expect(deps.bookings.calls).toEqual([]);
  });
});
