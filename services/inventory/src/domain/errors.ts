import { DomainError } from '@cupo/errors';

export class RoomNotFoundError extends DomainError {
  constructor(roomId: number) {
    super('not_found', 'ROOM_NOT_FOUND', `Room ${roomId} does not exist`, { room_id: roomId });
  }
}

/** The reserve command's refusal, the same on both its sides. */
export { RoomUnavailableError } from '@cupo/contracts';

export class ReservationReleasedError extends DomainError {
  constructor(bookingId: string) {
    super('conflict', 'RESERVATION_RELEASED', `Booking ${bookingId} was released already and cannot reserve again`, {
      booking_id: bookingId,
    });
  }
}
