import { assertCanAccess, isVisible, type Actor, type Booking } from '../domain/booking.js';
import { BookingNotConfirmedError, BookingNotFoundError } from '../domain/errors.js';
import { releaseOwedNights } from './release-owed-nights.js';
import type { BookingDeps, CallContext } from './ports.js';

/**
 * Cancels a confirmed booking and gives its nights back. The status change and the release
 * debt commit together; the release itself follows at once, or from the recovery loop if
 * inventory cannot be reached. Cancelling twice answers the cancelled booking again.
 */
export async function cancelBooking(deps: BookingDeps, bookingId: string, actor: Actor, context: CallContext): Promise<Booking> {
  const booking = await deps.bookings.find(bookingId);
  if (!booking || !isVisible(booking)) throw new BookingNotFoundError(bookingId);
  assertCanAccess(actor, booking);
  if (booking.status === 'pending') throw new BookingNotConfirmedError();
  const won = await deps.bookings.markCancelled(bookingId);
  // Losing the guarded UPDATE means another cancel committed first (only a cancel moves a
  // confirmed booking on): answer the row as it is now, not the `confirmed` read before it.
  const cancelled = won ?? (await deps.bookings.find(bookingId)) ?? booking;
  if (await releaseOwedNights(deps, cancelled, context)) {
    deps.metrics.outcome('cancelled');
    return { ...cancelled, releaseOwed: false };
  }
  if (won) deps.metrics.outcome('cancelled');
  return cancelled;
}
