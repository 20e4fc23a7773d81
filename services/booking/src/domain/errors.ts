import { DomainError } from '@cupo/errors';

export class StayInvalidError extends DomainError {
  constructor(reason: string) {
    super('invalid', 'VALIDATION_FAILED', `Invalid stay: ${reason}`);
  }
}

export class BookingNotFoundError extends DomainError {
  constructor(bookingId: string) {
    super('not_found', 'BOOKING_NOT_FOUND', `Booking ${bookingId} does not exist`, {
      booking_id: bookingId,
    });
  }
}

export class BookingForbiddenError extends DomainError {
  constructor() {
    super('forbidden', 'FORBIDDEN', 'This booking belongs to another user');
  }
}

/** Only a confirmed booking can be cancelled: one still pending is being decided. */
export class BookingNotConfirmedError extends DomainError {
  constructor() {
    super('conflict', 'BOOKING_NOT_CONFIRMED', 'This booking is still being confirmed');
  }
}

/** The reserve command's refusal, the same on both its sides. */
export { RoomUnavailableError } from '@cupo/contracts';

/** Another booking held a night for longer than this one could wait. */
export class LockTimeoutError extends DomainError {
  constructor(roomId: number, retryAfterSeconds = 1) {
    super(
      'unavailable',
      'LOCK_TIMEOUT',
      `Room ${roomId} is being booked by someone else right now; try again shortly`,
      { room_id: roomId },
      retryAfterSeconds,
    );
  }
}

/** Why an attempt failed, in words a client can act on. */
function describeFailure(code: string): string {
  switch (code) {
    case 'ABANDONED':
      return 'it stalled past the recovery deadline and was rolled back';
    case 'RESERVATION_RELEASED':
      return 'it stalled and was rolled back before inventory reserved its nights';
    case 'UPSTREAM_TIMEOUT':
      return 'inventory did not answer in time';
    case 'SERVICE_UNAVAILABLE':
      return 'inventory was not running';
    case 'DEPENDENCY_UNAVAILABLE':
      return 'a service it depends on was unavailable';
    default:
      return `it failed (${code})`;
  }
}

/**
 * An attempt at the booking failed and was rolled back: nothing is held for it, and a retry
 * with the same Idempotency-Key makes a new attempt.
 */
export class BookingAbandonedError extends DomainError {
  constructor(bookingId: string, failureCode: string, nightsStillReturning = false) {
    const held = nightsStillReturning ? 'Its nights are being returned' : 'Nothing is held';
    super(
      'unavailable',
      'BOOKING_ABANDONED',
      `Booking ${bookingId} was not made: ${describeFailure(failureCode)}. ${held}; retrying makes a new attempt`,
      { booking_id: bookingId, cause: failureCode },
      1,
    );
  }
}

/** The previous attempt's nights are still on their way back; a retry moments later proceeds. */
export class PreviousAttemptUnsettledError extends DomainError {
  constructor(bookingId: string) {
    super(
      'unavailable',
      'BOOKING_RETRY_PENDING',
      `Booking ${bookingId}: the nights of its previous attempt are still being returned; retry shortly`,
      { booking_id: bookingId },
      1,
    );
  }
}

export class RoomNotFoundError extends DomainError {
  constructor(roomId: number) {
    super('not_found', 'ROOM_NOT_FOUND', `Room ${roomId} does not exist`, { room_id: roomId });
  }
}
