import { DomainError } from '@cupo/errors';
import type { Booking } from '../domain/booking.js';
import { BookingAbandonedError, RoomUnavailableError } from '../domain/errors.js';
import { stayOf } from '../domain/stay.js';
import { releaseOwedNights } from './release-owed-nights.js';
import type { BookingDeps, CallContext } from './ports.js';

export interface ConfirmBookingCommand {
  bookingId: string;
  userId: string;
  roomId: number;
  checkIn: string;
  checkOut: string;
}

/** Refusals after which inventory certainly holds nothing for the booking. */
const DEFINITE_REFUSALS = new Set(['ROOM_UNAVAILABLE', 'ROOM_NOT_FOUND', 'RESERVATION_RELEASED']);

/**
 * Books every night of a stay, or none.
 *
 * Order matters for crash safety: the pending row is written before inventory is touched,
 * so whatever dies mid-way leaves a record that the recovery loop can finish or undo. The
 * Redis locks only keep bookings for the same nights from piling onto the same rows; if a
 * lock expires mid-flight, inventory's guarded update still refuses to oversell.
 *
 * Idempotent per booking id: a redelivered command returns the booking it already made,
 * or resumes one left pending.
 */
export async function confirmBooking(
  deps: BookingDeps,
  command: ConfirmBookingCommand,
  context: CallContext,
  lockWaitMs: number,
): Promise<Booking> {
  const stay = stayOf(command.checkIn, command.checkOut, deps.clock.today());
  const existing = await deps.bookings.find(command.bookingId);
  if (existing && existing.status !== 'pending') {
    deps.metrics.outcome('replayed');
    return replay(existing, stay.nights);
  }

  const held = await deps.locks.acquire(command.roomId, stay.nights, {
    waitUntil: Math.min(Date.now() + lockWaitMs, context.deadline - 100),
    // While someone else holds these nights the answer may already be known: once they
    // sell out, waiting longer only turns a certain 409 into a slow one.
    keepWaiting: async () => {
      const nights = await deps.inventory.availability(command.roomId, stay.nights, context);
      const soldOut = nights.filter((night) => night.available < 1).map((night) => night.date);
      if (soldOut.length > 0) throw new RoomUnavailableError(command.roomId, soldOut);
    },
  });
  try {
    if (!existing) {
      await deps.bookings.insertPending({
        id: command.bookingId,
        userId: command.userId,
        roomId: command.roomId,
        checkIn: stay.checkIn,
        checkOut: stay.checkOut,
        nights: stay.nights.length,
      });
    }
    try {
      await deps.inventory.reserve(command.bookingId, command.roomId, stay.nights, context);
    } catch (error) {
      const code = error instanceof DomainError ? error.code : 'RESERVE_FAILED';
      // A timeout or a broken connection leaves it unknown whether the nights were taken:
      // owe the release; inventory ignores it if nothing was reserved.
      if (DEFINITE_REFUSALS.has(code)) {
        // Inventory holds nothing for it, so nothing is left to settle: the attempt leaves
        // no trace (a redelivered command would simply be refused again).
        await deps.bookings.discardPending(command.bookingId);
      } else {
        const failed = await deps.bookings.markFailed(command.bookingId, code, true);
        if (failed) await releaseOwedNights(deps, failed, context);
      }
      deps.metrics.outcome(code === 'ROOM_UNAVAILABLE' ? 'unavailable' : 'failed');
      throw error;
    }
    const confirmed =
      (await deps.bookings.markConfirmed(command.bookingId)) ??
      // Not pending any more: a duplicate of this command (its lock expired) may have
      // confirmed it, or the recovery loop gave it up while it stalled and owns the release.
      (await deps.bookings.find(command.bookingId));
    if (confirmed?.status !== 'confirmed') {
      deps.metrics.outcome('abandoned');
      throw new BookingAbandonedError(command.bookingId);
    }
    deps.metrics.outcome('confirmed');
    return confirmed;
  } finally {
    await held.release();
  }
}

/** The answer a repeated command gets: the same booking, or the same refusal. */
function replay(booking: Booking, nights: string[]): Booking {
  if (booking.status !== 'failed') return booking;
  switch (booking.failureCode) {
    case 'ROOM_UNAVAILABLE':
      throw new RoomUnavailableError(booking.roomId, nights);
    case 'ROOM_NOT_FOUND':
      throw new DomainError('not_found', 'ROOM_NOT_FOUND', `Room ${booking.roomId} does not exist`);
    default:
      throw new BookingAbandonedError(booking.id);
  }
}
