import { BookingForbiddenError } from './errors.js';

/**
 * pending   — the nights are being reserved; a crash here is settled by the recovery loop.
 * confirmed — inventory holds the nights for this booking.
 * failed    — never confirmed; `releaseOwed` says inventory may still hold nights to give back.
 * cancelled — the guest cancelled; `releaseOwed` until inventory has the nights back.
 */
export type BookingStatus = 'pending' | 'confirmed' | 'failed' | 'cancelled';

export interface Booking {
  id: string;
  userId: string;
  roomId: number;
  checkIn: string;
  checkOut: string;
  nights: number;
  status: BookingStatus;
  /** 1 for the first attempt; a retry after a failed attempt makes the next. */
  attempt: number;
  /** The client request behind the latest attempt (absent on rows older than attempts). */
  attemptId: string | null;
  failureCode: string | null;
  /**
   * Inventory may still hold this booking's nights although the booking no longer wants
   * them. Set in the same statement as the status change, so the debt survives a crash.
   */
  releaseOwed: boolean;
  createdAt: Date;
  cancelledAt: Date | null;
}

export interface Actor {
  id: string;
  role: 'guest' | 'student' | 'admin';
}

/** Confirmed and cancelled bookings never change their answer again. */
export function isFinal(booking: Booking): boolean {
  return booking.status === 'confirmed' || booking.status === 'cancelled';
}

/** The request a booking id was made for: the same user, room and dates. */
export function isSameRequest(booking: Booking, request: { userId: string; roomId: number; checkIn: string; checkOut: string }): boolean {
  return (
    booking.userId === request.userId &&
    booking.roomId === request.roomId &&
    booking.checkIn === request.checkIn &&
    booking.checkOut === request.checkOut
  );
}

/** Refusals after which inventory certainly holds nothing for the attempt. */
const DEFINITE_REFUSALS = new Set(['ROOM_UNAVAILABLE', 'ROOM_NOT_FOUND', 'RESERVATION_RELEASED']);

export function isDefiniteRefusal(code: string): boolean {
  return DEFINITE_REFUSALS.has(code);
}

/** A user sees and acts on their own bookings; an admin on anyone's. */
export function assertCanAccess(actor: Actor, booking: Booking): void {
  if (actor.role !== 'admin' && booking.userId !== actor.id) throw new BookingForbiddenError();
}

/** Bookings a user would recognise as theirs: attempts that failed are not bookings. */
export function isVisible(booking: Booking): boolean {
  return booking.status !== 'failed';
}
