import { DomainError } from '@cupo/errors';
import { isDefiniteRefusal, type Booking } from '../domain/booking.js';
import { nightsFrom } from '../domain/stay.js';
import type { BookingDeps, ConfirmedCursor, HeldReservation, Logger } from './ports.js';

export interface ReconcileOptions {
  /** Only reservations and bookings at least this old are judged: younger ones may be in flight. */
  graceMs: number;
  /** How many of each are looked at per pass; a pass costs the same however much history exists. */
  pageSize: number;
}

export interface ReconcileResult {
  released: number;
  restored: number;
  cancelled: number;
}

/**
 * The two databases must agree: inventory holds a booking attempt's nights exactly while that
 * booking is confirmed under that attempt (or still settling it). Every other path keeps
 * this by itself; this catches what slipped past them — a bug, a restored backup, a hand
 * edit — by walking both sides a page per pass, each walk continued by whichever replica's
 * turn it is:
 * - a reservation no booking owns is released;
 * - a confirmed booking whose nights inventory does not hold gets them reserved again, or,
 *   if they are gone (sold since, or released for good), is cancelled as NIGHTS_LOST — an
 *   incident for an operator to take to the guest, logged as an error.
 */
export async function reconcileReservations(
  deps: Pick<BookingDeps, 'bookings' | 'inventory' | 'metrics'>,
  options: ReconcileOptions,
  logger: Logger,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { released: 0, restored: 0, cancelled: 0 };
  const context = () => ({ requestId: 'reconciler', deadline: Date.now() + 5_000 });

  await deps.bookings.walkStep<HeldReservation, void>('held-reservations', async (after) => {
    const page = await deps.inventory.heldReservations(after, options.graceMs, options.pageSize, context());
    const owners = new Map((await deps.bookings.findMany([...new Set(page.map((r) => r.bookingId))])).map((b) => [b.id, b]));
    for (const held of page) {
      if (ownsNights(owners.get(held.bookingId), held)) continue;
      // Release is idempotent per attempt: if the owner released it meanwhile, this changes nothing.
      await deps.inventory.release(held, held.roomId, held.nights, context());
      deps.metrics.reconciled('reservation_without_booking', 'released');
      logger.warn({ bookingId: held.bookingId, attempt: held.attempt, roomId: held.roomId }, 'released nights no booking owned');
      result.released += 1;
    }
    return { position: page.length < options.pageSize ? undefined : page[page.length - 1], result: undefined };
  });

  await deps.bookings.walkStep<ConfirmedCursor, void>('confirmed-bookings', async (after) => {
    const page = await deps.bookings.confirmedPage(after, options.graceMs, options.pageSize);
    const held = await deps.inventory.heldAmong(
      page.map((b) => ({ bookingId: b.id, attempt: b.attempt })),
      context(),
    );
    const holding = new Set(held.map((key) => `${key.bookingId}/${key.attempt}`));
    for (const booking of page) {
      if (holding.has(`${booking.id}/${booking.attempt}`)) continue;
      const outcome = await deps.bookings.repairConfirmed(booking.id, booking.attempt, () => reserveAgain(deps, booking, context()));
      if (outcome === 'restored') {
        deps.metrics.reconciled('booking_without_nights', 'restored');
        logger.warn({ bookingId: booking.id, attempt: booking.attempt }, 'confirmed booking held no nights; reserved them again');
        result.restored += 1;
      } else if (outcome === 'cancelled') {
        deps.metrics.reconciled('booking_without_nights', 'cancelled');
        logger.error(
          { bookingId: booking.id, userId: booking.userId, roomId: booking.roomId, checkIn: booking.checkIn },
          'confirmed booking held no nights and they could not be reserved again: cancelled as NIGHTS_LOST',
        );
        result.cancelled += 1;
      }
    }
    const last = page[page.length - 1];
    return {
      position: page.length < options.pageSize || !last ? undefined : { confirmedAt: last.confirmedAt, id: last.id },
      result: undefined,
    };
  });

  return result;
}

/** The booking still wants (or is still settling) this attempt's nights. */
function ownsNights(owner: Booking | undefined, held: HeldReservation): boolean {
  if (!owner || owner.attempt !== held.attempt) return false;
  return owner.status === 'confirmed' || owner.status === 'pending' || owner.releaseOwed;
}

/** True if inventory holds the nights again; false if they cannot be had. */
async function reserveAgain(
  deps: Pick<BookingDeps, 'inventory'>,
  booking: Booking,
  context: { requestId: string; deadline: number },
): Promise<boolean> {
  try {
    await deps.inventory.reserve(
      { bookingId: booking.id, attempt: booking.attempt },
      booking.roomId,
      nightsFrom(booking.checkIn, booking.nights),
      context,
    );
    return true;
  } catch (error) {
    if (error instanceof DomainError && isDefiniteRefusal(error.code)) return false;
    throw error;
  }
}
