import { DomainError } from '@cupo/errors';

export class RoomNotFoundError extends DomainError {
  constructor(roomId: number) {
    super('not_found', 'ROOM_NOT_FOUND', `Room ${roomId} does not exist`, { room_id: roomId });
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

export class ReservationReleasedError extends DomainError {
  constructor(bookingId: string) {
    super(
      'conflict',
      'RESERVATION_RELEASED',
      `Booking ${bookingId} was released already and cannot reserve again`,
      { booking_id: bookingId },
    );
  }
}
