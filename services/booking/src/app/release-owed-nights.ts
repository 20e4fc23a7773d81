import type { BookingDeps, CallContext } from './ports.js';

/**
 * Pays a release debt now if inventory answers; otherwise leaves it recorded for the
 * recovery loop. Never throws: the booking's own state change has already committed.
 */
export async function releaseOwedNights(
  deps: Pick<BookingDeps, 'bookings' | 'inventory'>,
  bookingId: string,
  context: CallContext,
): Promise<boolean> {
  const booking = await deps.bookings.find(bookingId).catch(() => undefined);
  if (!booking?.releaseOwed) return false;
  try {
    const nights = nightsOf(booking.checkIn, booking.nights);
    await deps.inventory.release(booking.id, booking.roomId, nights, context);
    await deps.bookings.settleRelease(booking.id);
    return true;
  } catch {
    return false;
  }
}

function nightsOf(checkIn: string, count: number): string[] {
  const start = Date.parse(`${checkIn}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) =>
    new Date(start + i * 86_400_000).toISOString().slice(0, 10),
  );
}
