import type { Page, PageRequest } from '@cupo/contracts';
import type { Actor, Booking } from '../domain/booking.js';
import { BookingForbiddenError } from '../domain/errors.js';
import type { BookingDeps } from './ports.js';

/** Own bookings, newest first, one page at a time; an admin sees everyone's, optionally for one user. */
export async function listBookings(
  deps: Pick<BookingDeps, 'bookings'>,
  actor: Actor,
  userId: string | undefined,
  page: PageRequest,
): Promise<Page<Booking>> {
  if (actor.role !== 'admin' && userId !== undefined && userId !== actor.id) {
    throw new BookingForbiddenError();
  }
  const forUser = actor.role === 'admin' ? userId : actor.id;
  return deps.bookings.list({ ...(forUser === undefined ? {} : { userId: forUser }), page });
}
