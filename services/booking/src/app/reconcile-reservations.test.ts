import { describe, expect, it } from 'vitest';
import { reconcileReservations } from './reconcile-reservations.js';
import { aBooking, InMemoryBookingStore, InMemoryInventory, recordingLogger, recordingMetrics } from './testing/in-memory.js';

const NIGHTS = ['2030-05-01', '2030-05-02'];
const options = { graceMs: 0, pageSize: 10 };

function setup() {
  const bookings = new InMemoryBookingStore();
  const inventory = new InMemoryInventory();
  inventory.open(NIGHTS, 5);
  const { metrics, reconciled } = recordingMetrics();
  const { logger, lines } = recordingLogger();
  return { deps: { bookings, inventory, metrics }, reconciled, logger, lines };
}

const reserve = (inventory: InMemoryInventory, bookingId: string, attempt = 1) => inventory.reserve({ bookingId, attempt }, 7, NIGHTS);

describe('reconciling bookings with inventory', () => {
  it('changes nothing when both sides agree: confirmed bookings hold their nights, a pending one may', async () => {
    const { deps, logger, reconciled } = setup();
    deps.bookings.add(aBooking({ id: 'confirmed' }));
    deps.bookings.add(aBooking({ id: 'pending', status: 'pending', confirmedAt: null }));
    deps.bookings.add(aBooking({ id: 'owing', status: 'cancelled', releaseOwed: true }));
    for (const id of ['confirmed', 'pending', 'owing']) await reserve(deps.inventory, id);
    expect(await reconcileReservations(deps, options, logger)).toEqual({ released: 0, restored: 0, cancelled: 0 });
    expect(reconciled).toEqual([]);
    expect(deps.inventory.available.get(NIGHTS[0]!)).toBe(2);
  });

  it('releases nights no booking owns: no row, a cancelled one that settled, or an earlier attempt', async () => {
    const { deps, logger, reconciled, lines } = setup();
    await reserve(deps.inventory, 'orphan');
    deps.bookings.add(aBooking({ id: 'settled', status: 'cancelled', releaseOwed: false }));
    await reserve(deps.inventory, 'settled');
    deps.bookings.add(aBooking({ id: 'retried', attempt: 2 }));
    await reserve(deps.inventory, 'retried', 1);
    await reserve(deps.inventory, 'retried', 2);

    expect(await reconcileReservations(deps, options, logger)).toEqual({ released: 3, restored: 0, cancelled: 0 });
    expect(deps.inventory.held('orphan', 1) || deps.inventory.held('settled', 1) || deps.inventory.held('retried', 1)).toBe(false);
    expect(deps.inventory.held('retried', 2)).toBe(true);
    expect(reconciled).toEqual(Array(3).fill('reservation_without_booking:released'));
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(3);
  });

  it('reserves again the nights of a confirmed booking that lost them, if they are still free', async () => {
    const { deps, logger, reconciled } = setup();
    deps.bookings.add(aBooking({ id: 'lost' }));
    expect(await reconcileReservations(deps, options, logger)).toEqual({ released: 0, restored: 1, cancelled: 0 });
    expect(deps.inventory.held('lost', 1)).toBe(true);
    expect(deps.bookings.rows.get('lost')).toMatchObject({ status: 'confirmed' });
    expect(reconciled).toEqual(['booking_without_nights:restored']);
  });

  it('cancels as NIGHTS_LOST a confirmed booking whose nights are sold since, and logs an error for an operator', async () => {
    const { deps, logger, reconciled, lines } = setup();
    deps.bookings.add(aBooking({ id: 'lost' }));
    deps.inventory.available.set(NIGHTS[1]!, 0);
    expect(await reconcileReservations(deps, options, logger)).toEqual({ released: 0, restored: 0, cancelled: 1 });
    expect(deps.bookings.rows.get('lost')).toMatchObject({ status: 'cancelled', failureCode: 'NIGHTS_LOST' });
    expect(deps.inventory.available.get(NIGHTS[0]!)).toBe(5);
    expect(reconciled).toEqual(['booking_without_nights:cancelled']);
    expect(lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });

  it('lets an inventory failure on a repair escape the pass, changing nothing (the next pass tries again)', async () => {
    const { deps, logger } = setup();
    deps.bookings.add(aBooking({ id: 'lost' }));
    deps.inventory.down = true;
    await expect(reconcileReservations(deps, options, logger)).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(deps.bookings.rows.get('lost')).toMatchObject({ status: 'confirmed' });
  });

  it('walks both sides a page per pass, continuing where the last pass stopped and starting over at the end', async () => {
    const { deps, logger } = setup();
    deps.inventory.open(NIGHTS, 10);
    for (let i = 0; i < 5; i += 1) {
      deps.bookings.add(aBooking({ id: `c${i}`, confirmedAt: `2030-01-01T00:00:0${i}.000000Z` }));
      await reserve(deps.inventory, `c${i}`);
    }
    deps.bookings.add(aBooking({ id: 'lost', confirmedAt: '2030-01-01T00:00:09.000000Z' }));
    const small = { graceMs: 0, pageSize: 2 };
    expect(await reconcileReservations(deps, small, logger)).toMatchObject({ restored: 0 });
    expect(deps.bookings.cursors.get('confirmed-bookings')).toMatchObject({ id: 'c1' });
    expect(await reconcileReservations(deps, small, logger)).toMatchObject({ restored: 0 });
    expect(await reconcileReservations(deps, small, logger)).toMatchObject({ restored: 1 });
    expect(deps.bookings.cursors.get('confirmed-bookings')).toMatchObject({ id: 'lost' });
    // The next page is short (empty): the walk starts over.
    expect(await reconcileReservations(deps, small, logger)).toMatchObject({ restored: 0 });
    expect(deps.bookings.cursors.get('confirmed-bookings')).toBeUndefined();
  });

  it('leaves a walk to the replica running it', async () => {
    const { deps, logger } = setup();
    await reserve(deps.inventory, 'orphan');
    deps.bookings.add(aBooking({ id: 'lost' }));
    deps.bookings.busyWalks.add('held-reservations');
    deps.bookings.busyWalks.add('confirmed-bookings');
    deps.inventory.calls.length = 0;
    expect(await reconcileReservations(deps, options, logger)).toEqual({ released: 0, restored: 0, cancelled: 0 });
    expect(deps.inventory.calls).toEqual([]);
  });
});
