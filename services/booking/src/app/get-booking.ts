import { assertCanAccess, isVisible, type Actor, type Booking } from '../domain/booking.js';
import { BookingNotFoundError } from '../domain/errors.js';
import type { BookingDeps } from './ports.js';

export async function getBooking(deps: Pick<BookingDeps, 'bookings'>, bookingId: string, actor: Actor): Promise<Booking> {
  const booking = await deps.bookings.find(bookingId);
  if (!booking || !isVisible(booking)) throw new BookingNotFoundError(bookingId);
  assertCanAccess(actor, booking);
  return booking;
}
