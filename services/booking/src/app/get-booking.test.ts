import { describe, expect, it } from 'vitest';
import { getBooking } from './get-booking.js';
import { aBooking, InMemoryBookingStore } from './testing/in-memory.js';

function setup() {
  const bookings = new InMemoryBookingStore();
  bookings.add(aBooking({ id: 'mine', userId: 'alice' }));
  bookings.add(aBooking({ id: 'failed', userId: 'alice', status: 'failed', failureCode: 'ROOM_UNAVAILABLE' }));
  return { bookings };
}
const alice = { id: 'alice', role: 'guest' as const };
const bob = { id: 'bob', role: 'guest' as const };
const admin = { id: 'root', role: 'admin' as const };

describe('getting a booking', () => {
  it('answers the owner their booking, with one read', async () => {
    const deps = setup();
    await expect(getBooking(deps, 'mine', alice)).resolves.toMatchObject({ id: 'mine', status: 'confirmed' });
    expect(deps.bookings.calls).toEqual(['find']);
  });

  it('refuses another user, but lets an admin see anyone’s', async () => {
    const deps = setup();
    await expect(getBooking(deps, 'mine', bob)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(getBooking(deps, 'mine', admin)).resolves.toMatchObject({ id: 'mine' });
  });

  it('does not know an unknown booking, nor a failed attempt (that is no booking), even for its owner or an admin', async () => {
    const deps = setup();
    await expect(getBooking(deps, 'nope', alice)).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
    await expect(getBooking(deps, 'failed', alice)).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
    await expect(getBooking(deps, 'failed', admin)).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
  });

  it('answers a stranger asking for someone’s failed attempt "not found", not "forbidden"', async () => {
    const deps = setup();
    await expect(getBooking(deps, 'failed', bob)).rejects.toMatchObject({ code: 'BOOKING_NOT_FOUND' });
  });
});
