import { DependencyUnavailableError, DomainError, IdempotencyKeyReusedError } from '@cupo/errors';
import { isDefiniteRefusal, isFinal, isSameRequest, type Booking } from '../domain/booking.js';
import { BookingAbandonedError, PreviousAttemptUnsettledError, RoomNotFoundError, RoomUnavailableError } from '../domain/errors.js';
import { nightsFrom, stayOf, type Stay } from '../domain/stay.js';
import { releaseOwedNights } from './release-owed-nights.js';
import type { BookingDeps, CallContext, NewBooking } from './ports.js';

export interface ConfirmBookingCommand {
  bookingId: string;
  userId: string;
  roomId: number;
  checkIn: string;
  checkOut: string;
  /**
   * The client request behind this command. A duplicate of the same request (the broker
   * redelivered it) shares it and gets the same answer; a client's retry brings a new one,
   * and after a failed attempt that retry makes a new attempt.
   */
  attemptId: string;
}

/** Thrown by the lock wait when this very booking was decided meanwhile (by a duplicate). */
class DecidedMeanwhile extends Error {
  constructor(readonly booking: Booking) {
    super('decided meanwhile');
  }
}

/**
 * Books every night of a stay, or none.
 *
 * Order matters for crash safety: the pending row is written before inventory is touched,
 * so whatever dies mid-way leaves a record that the recovery loop can finish or undo. The
 * Redis locks only keep bookings for the same nights from piling onto the same rows; if a
 * lock expires mid-flight, inventory's guarded update still refuses to oversell.
 *
 * Idempotent per booking id. Every decision is taken on the row read under the lock, where
 * no duplicate of this command can change it meanwhile: a finished booking is answered again,
 * a pending one (its handler died) is resumed, and a failed attempt is either answered again
 * (a duplicate of that request) or tried anew (a client's retry). Refusals are recorded, not
 * forgotten, so a late duplicate cannot book what its twin was refused.
 */
export async function confirmBooking(
  deps: BookingDeps,
  command: ConfirmBookingCommand,
  context: CallContext,
  lockWaitMs: number,
): Promise<Booking> {
  // The row is read under the lock, by the same statement that writes it pending (one round
  // trip, not a read before the lock and an insert under it): a fresh booking, the common case,
  // costs two statements here — that insert and the confirm. A confirmed or cancelled booking
  // never changes its answer, so it must not wait for its nights (that would only end in a
  // wrong 409): while they are held elsewhere, the first wait looks it up and replays it.
  let stay: Stay;
  try {
    stay = stayOf(command.checkIn, command.checkOut, deps.clock.today());
  } catch (error) {
    // A replay of a finished booking whose stay has begun since is still answered.
    const known = await deps.bookings.find(command.bookingId);
    if (known && isFinal(known)) return replay(deps, known, command);
    throw error;
  }
  const intent: NewBooking = {
    id: command.bookingId,
    userId: command.userId,
    roomId: command.roomId,
    checkIn: stay.checkIn,
    checkOut: stay.checkOut,
    nights: stay.nights.length,
    attemptId: command.attemptId,
  };

  let lookedUp = false;
  let held;
  try {
    held = await deps.locks.acquire(command.roomId, stay.nights, {
      waitUntil: Math.min(Date.now() + lockWaitMs, context.deadline - 100),
      // While someone else holds these nights the answer may already be known: once they
      // sell out, waiting longer only turns a certain 409 into a slow one.
      keepWaiting: async () => {
        // The first wait also looks the booking up (alongside, not before, the availability read):
        // a finished booking is answered now rather than after the nights come free.
        const lookup = lookedUp ? undefined : deps.bookings.find(command.bookingId);
        lookedUp = true;
        const [known, nights] = await Promise.all([lookup, deps.inventory.availability(command.roomId, stay.nights, context)]);
        if (known && isFinal(known)) throw new DecidedMeanwhile(known);
        const soldOut = nights.filter((night) => night.available < 1).map((night) => night.date);
        if (soldOut.length === 0) return;
        // Sold out — but perhaps by this very booking, made by a duplicate of this command.
        const booking = await deps.bookings.recordRefusal(intent, 'ROOM_UNAVAILABLE');
        if (booking.status === 'pending') return; // the duplicate is at work: its outcome is ours
        if (isFinal(booking)) throw new DecidedMeanwhile(booking);
        // An earlier attempt that still owes its nights was not taken over: its own hold may be
        // what sells the stay out, so this is no refusal (which the gateway would keep for hours).
        if (booking.attemptId !== intent.attemptId) throw new PreviousAttemptUnsettledError(booking.id);
        throw new RoomUnavailableError(command.roomId, soldOut);
      },
    });
  } catch (error) {
    if (error instanceof DecidedMeanwhile) return replay(deps, error.booking, command);
    if (error instanceof RoomUnavailableError) deps.metrics.outcome('unavailable');
    // No lock to be had (Redis down, or its breaker open): a request already answered needs
    // none — look it up and answer it again, as the row under the lock would have; only what
    // still has to be decided gets the 503. Off the normal path: no extra round trip there.
    if (error instanceof DependencyUnavailableError) {
      const known = await deps.bookings.find(command.bookingId).catch(() => undefined);
      if (known && isAnswered(known, command.attemptId)) return replay(deps, known, command);
    }
    throw error;
  }
  try {
    return await decideAndBook(deps, intent, stay, context);
  } finally {
    await held.release();
  }
}

/** Under the lock: reads the row, decides what this command is, and books if it is to. */
async function decideAndBook(deps: BookingDeps, intent: NewBooking, stay: Stay, context: CallContext): Promise<Booking> {
  let booking = await deps.bookings.insertPending(intent);
  if (!isSameRequest(booking, intent)) throw new IdempotencyKeyReusedError();
  if (isFinal(booking)) return replay(deps, booking, intent);
  if (booking.status === 'failed') {
    // The same request again (a redelivered command): the same answer.
    if (booking.attemptId === intent.attemptId) return replay(deps, booking, intent);
    // A client's retry: settle whatever the failed attempt may still hold, then try anew.
    if (booking.releaseOwed && !(await releaseOwedNights(deps, booking, context))) {
      throw new PreviousAttemptUnsettledError(booking.id);
    }
    const restarted = await deps.bookings.restartFailed(booking.id, intent.attemptId);
    if (!restarted) throw new PreviousAttemptUnsettledError(booking.id);
    booking = restarted;
  }
  // Pending: a fresh attempt, or one whose handler died mid-way (resumed: reserve is idempotent).
  const key = { bookingId: booking.id, attempt: booking.attempt };
  try {
    await deps.inventory.reserve(key, booking.roomId, stay.nights, context);
  } catch (error) {
    const code = error instanceof DomainError ? error.code : 'RESERVE_FAILED';
    if (code === 'ROOM_NOT_FOUND' && booking.attempt === 1) {
      // No such room: nothing to hold and nothing a duplicate could get differently.
      await deps.bookings.discardPending(booking.id);
      throw error;
    }
    // A refusal leaves inventory holding nothing; a timeout or a broken connection leaves it
    // unknown whether the nights were taken: owe the release (inventory ignores it if not).
    const owed = !isDefiniteRefusal(code);
    const failed = await deps.bookings.markFailed(booking.id, booking.attempt, code, owed);
    if (failed && owed) await releaseOwedNights(deps, failed, context);
    deps.metrics.outcome(code === 'ROOM_UNAVAILABLE' ? 'unavailable' : 'failed');
    throw error;
  }
  const confirmed = await deps.bookings.markConfirmed(booking.id, booking.attempt);
  if (confirmed) {
    deps.metrics.outcome('confirmed');
    return confirmed;
  }
  // Not pending under this attempt any more: a duplicate confirmed it, or the recovery loop gave
  // it up while this stalled (and owes, or has paid, the release of these very nights).
  const now = await deps.bookings.find(booking.id);
  if (now?.status === 'confirmed' && now.attempt === booking.attempt) return now;
  if (!(now?.attempt === booking.attempt && now.releaseOwed)) {
    // Nobody owes these nights back: give them back now (a release already paid changes nothing;
    // if inventory cannot be reached, the reconciler finds them later).
    await deps.inventory.release(key, booking.roomId, stay.nights, context).catch(() => undefined);
  }
  deps.metrics.outcome('abandoned');
  throw new BookingAbandonedError(booking.id, now?.failureCode ?? 'ABANDONED', now?.releaseOwed ?? false);
}

/** Whether this request's answer is already settled: a finished booking, or this very attempt's failure. */
function isAnswered(booking: Booking, attemptId: string): boolean {
  return isFinal(booking) || (booking.status === 'failed' && booking.attemptId === attemptId);
}

/** The answer a repeated request gets: the same booking, or the same refusal or failure. */
function replay(
  deps: Pick<BookingDeps, 'metrics'>,
  booking: Booking,
  request: { userId: string; roomId: number; checkIn: string; checkOut: string },
): Booking {
  // A booking id is derived from the stay asked for; another stay under it is not this request.
  if (!isSameRequest(booking, request)) throw new IdempotencyKeyReusedError();
  deps.metrics.outcome('replayed');
  if (booking.status !== 'failed') return booking;
  switch (booking.failureCode) {
    case 'ROOM_UNAVAILABLE':
      throw new RoomUnavailableError(booking.roomId, nightsFrom(booking.checkIn, booking.nights));
    case 'ROOM_NOT_FOUND':
      throw new RoomNotFoundError(booking.roomId);
    default:
      throw new BookingAbandonedError(booking.id, booking.failureCode ?? 'ABANDONED', booking.releaseOwed);
  }
}
