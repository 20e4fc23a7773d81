import type { Booking } from '../domain/booking.js';
import { nightsFrom } from '../domain/stay.js';
import type { BookingDeps, CallContext } from './ports.js';

/**
 * Pays a booking's release debt now if inventory answers; otherwise leaves it recorded for
 * the recovery loop. Never throws: the booking's own state change has already committed.
 */
export async function releaseOwedNights(
  deps: Pick<BookingDeps, 'bookings' | 'inventory'>,
  booking: Booking,
  context: CallContext,
): Promise<boolean> {
  if (!booking.releaseOwed) return false;
  try {
    await deps.inventory.release(
      { bookingId: booking.id, attempt: booking.attempt },
      booking.roomId,
      nightsFrom(booking.checkIn, booking.nights),
      context,
    );
    await deps.bookings.settleRelease(booking.id, booking.attempt);
    return true;
  } catch {
    return false;
  }
}
