import { describe, expect, it } from 'vitest';
import { settleUnfinishedBookings } from './settle-unfinished-bookings.js';
import { aBooking, InMemoryBookingStore, InMemoryInventory, recordingLogger, recordingMetrics } from './testing/in-memory.js';

const NIGHTS = ['2030-05-01', '2030-05-02'];
const options = { stalePendingMs: 30_000, releaseGraceMs: 10_000, batchSize: 10 };
const ago = (ms: number) => Date.now() - ms;

function setup() {
  const bookings = new InMemoryBookingStore();
  const inventory = new InMemoryInventory();
  inventory.open(NIGHTS, 5);
  const { metrics, recovered } = recordingMetrics();
  const { logger, lines } = recordingLogger();
  return { deps: { bookings, inventory, metrics }, recovered, logger, lines };
}

describe('the recovery pass', () => {
  it('gives up a stale pending booking and returns the nights its dead handler may have taken', async () => {
    const { deps, recovered, logger } = setup();
    deps.bookings.add(aBooking({ id: 'stale', status: 'pending', updatedAt: ago(60_000) }));
    await deps.inventory.reserve({ bookingId: 'stale', attempt: 1 }, 7, NIGHTS);

    expect(await settleUnfinishedBookings(deps, options, logger)).toEqual({ abandoned: 1, released: 1 });
    expect(deps.bookings.rows.get('stale')).toMatchObject({ status: 'failed', failureCode: 'ABANDONED', releaseOwed: false });
    expect(deps.inventory.held('stale', 1)).toBe(false);
    expect(deps.inventory.available.get(NIGHTS[0]!)).toBe(5);
    expect(recovered).toEqual(['abandoned', 'released']);
  });

  it('leaves alone a pending booking still within its time, and a debt still within its grace', async () => {
    const { deps, logger } = setup();
    deps.bookings.add(aBooking({ id: 'fresh', status: 'pending', updatedAt: ago(1_000) }));
    deps.bookings.add(aBooking({ id: 'owing', status: 'cancelled', releaseOwed: true, updatedAt: ago(1_000) }));
    expect(await settleUnfinishedBookings(deps, options, logger)).toEqual({ abandoned: 0, released: 0 });
    expect(deps.bookings.rows.get('fresh')).toMatchObject({ status: 'pending' });
    expect(deps.inventory.calls).toEqual([]);
  });

  it('pays debts past their grace (a cancel whose release failed), once per booking', async () => {
    const { deps, logger } = setup();
    deps.bookings.add(aBooking({ id: 'cancelled', status: 'cancelled', releaseOwed: true, updatedAt: ago(20_000) }));
    await deps.inventory.reserve({ bookingId: 'cancelled', attempt: 1 }, 7, NIGHTS);
    expect(await settleUnfinishedBookings(deps, { ...options, releaseGraceMs: 0 }, logger)).toEqual({ abandoned: 0, released: 1 });
    expect(deps.inventory.calls.filter((call) => call === 'release')).toHaveLength(1);
    expect(deps.bookings.rows.get('cancelled')).toMatchObject({ releaseOwed: false });
  });

  it('releases a booking abandoned in this pass once, though the owed-list finds it too', async () => {
    const { deps, logger } = setup();
    deps.bookings.add(aBooking({ id: 'stale', status: 'pending', updatedAt: ago(60_000) }));
    // Grace 0: the row just abandoned is past it at once, so both lists name it.
    await settleUnfinishedBookings(deps, { ...options, releaseGraceMs: -1 }, logger);
    expect(deps.inventory.calls.filter((call) => call === 'release')).toHaveLength(1);
  });

  it('keeps the debt and says so when inventory cannot be reached; the next pass pays it', async () => {
    const { deps, logger, lines } = setup();
    deps.bookings.add(aBooking({ id: 'stale', status: 'pending', updatedAt: ago(60_000) }));
    deps.inventory.down = true;
    expect(await settleUnfinishedBookings(deps, options, logger)).toEqual({ abandoned: 1, released: 0 });
    expect(deps.bookings.rows.get('stale')).toMatchObject({ status: 'failed', releaseOwed: true });
    expect(lines.map((line) => line.message)).toContain('release still owed; will retry');
    deps.inventory.down = false;
    deps.bookings.rows.get('stale')!.updatedAt = ago(60_000);
    expect(await settleUnfinishedBookings(deps, options, logger)).toEqual({ abandoned: 0, released: 1 });
    expect(deps.bookings.rows.get('stale')).toMatchObject({ releaseOwed: false });
  });

  it('takes at most a batch of each per pass', async () => {
    const { deps, logger } = setup();
    for (let i = 0; i < 5; i += 1) deps.bookings.add(aBooking({ id: `p${i}`, status: 'pending', updatedAt: ago(60_000 + i) }));
    expect(await settleUnfinishedBookings(deps, { ...options, batchSize: 2 }, logger)).toMatchObject({ abandoned: 2 });
    expect([...deps.bookings.rows.values()].filter((row) => row.status === 'pending')).toHaveLength(3);
  });
});
