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

export class RoomUnavailableError extends DomainError {
  constructor(roomId: number, nights: string[]) {
    super(
      'conflict',
      'ROOM_UNAVAILABLE',
      `Room ${roomId} has no availability left for ${nights.join(', ')}`,
      { room_id: roomId, nights },
    );
  }
}

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

/** The booking was given up (its holder stalled past the recovery deadline) and rolled back. */
export class BookingAbandonedError extends DomainError {
  constructor(bookingId: string) {
    super(
      'unavailable',
      'BOOKING_ABANDONED',
      `Booking ${bookingId} took too long and was rolled back; try again`,
      { booking_id: bookingId },
      1,
    );
  }
}
