import type { BookingDeps, Logger } from './ports.js';
import { releaseOwedNights } from './release-owed-nights.js';

export interface SettleOptions {
  /** A pending booking untouched this long is given up: its holder is dead or stalled. */
  stalePendingMs: number;
  /** How long the path that created a release debt gets to pay it before this loop does. */
  releaseGraceMs: number;
  batchSize: number;
}

/**
 * The recovery loop, run by every replica (rows are claimed with SKIP LOCKED, releases are
 * idempotent): gives up bookings left pending by a crashed or stalled replica, and pays
 * every release debt still open. After it runs with nothing in flight, inventory holds a
 * booking's nights exactly when the booking is confirmed.
 */
export async function settleUnfinishedBookings(
  deps: Pick<BookingDeps, 'bookings' | 'inventory' | 'metrics'>,
  options: SettleOptions,
  logger: Logger,
): Promise<{ abandoned: number; released: number }> {
  const abandoned = await deps.bookings.abandonStalePending(options.stalePendingMs, options.batchSize);
  for (const booking of abandoned) {
    deps.metrics.recovered('abandoned');
    logger.warn({ bookingId: booking.id }, 'pending booking abandoned by recovery');
  }
  const owed = await deps.bookings.findOwedReleases(options.releaseGraceMs, options.batchSize);
  const debtors = new Map([...abandoned, ...owed].map((booking) => [booking.id, booking]));
  let released = 0;
  for (const booking of debtors.values()) {
    const context = { requestId: `recovery:${booking.id}`, deadline: Date.now() + 5_000 };
    if (await releaseOwedNights(deps, booking, context)) {
      released += 1;
      deps.metrics.recovered('released');
    } else {
      logger.warn({ bookingId: booking.id }, 'release still owed; will retry');
    }
  }
  return { abandoned: abandoned.length, released };
}
