import { describe, expect, it } from 'vitest';
import { listBookings } from './list-bookings.js';
import { aBooking, InMemoryBookingStore } from './testing/in-memory.js';

function setup() {
  const bookings = new InMemoryBookingStore();
  bookings.add(aBooking({ id: 'a1', userId: 'alice', createdAt: new Date('2030-01-01T00:00:01Z') }));
  bookings.add(aBooking({ id: 'a2', userId: 'alice', createdAt: new Date('2030-01-01T00:00:02Z') }));
  bookings.add(aBooking({ id: 'a3', userId: 'alice', status: 'failed', createdAt: new Date('2030-01-01T00:00:03Z') }));
  bookings.add(aBooking({ id: 'b1', userId: 'bob', status: 'cancelled', createdAt: new Date('2030-01-01T00:00:04Z') }));
  return { bookings };
}
const page = { limit: 10 };
const alice = { id: 'alice', role: 'guest' as const };
const admin = { id: 'root', role: 'admin' as const };
const ids = (result: { items: { id: string }[] }) => result.items.map((b) => b.id);

describe('listing bookings', () => {
  it('gives a user their own bookings, newest first, without failed attempts', async () => {
    const deps = setup();
    expect(ids(await listBookings(deps, alice, undefined, page))).toEqual(['a2', 'a1']);
    expect(ids(await listBookings(deps, alice, 'alice', page))).toEqual(['a2', 'a1']);
  });

  it('refuses a user asking for someone else’s, before any read', async () => {
    const deps = setup();
    await expect(listBookings(deps, alice, 'bob', page)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(deps.bookings.calls).toEqual([]);
  });

  it('gives an admin everyone’s, or one user’s when asked', async () => {
    const deps = setup();
    expect(ids(await listBookings(deps, admin, undefined, page))).toEqual(['b1', 'a2', 'a1']);
    expect(ids(await listBookings(deps, admin, 'bob', page))).toEqual(['b1']);
  });

  it('passes the page on: a limit cuts the page and says there is more', async () => {
    const deps = setup();
    const first = await listBookings(deps, admin, undefined, { limit: 2 });
    expect(ids(first)).toEqual(['b1', 'a2']);
    expect(first.next).toBeDefined();
  });
});
