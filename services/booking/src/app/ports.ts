import type { Page, PageRequest } from '@cupo/contracts';
import type { Actor, Booking } from '../domain/booking.js';

/** What the use cases need from the outside world; adapters implement these. */

export interface CallContext {
  requestId: string;
  /** Epoch ms after which nobody waits for the answer. */
  deadline: number;
}

export interface NightAvailability {
  date: string;
  total: number;
  available: number;
}

export interface Inventory {
  /** Throws the not-found error for an unknown room. */
  availability(roomId: number, nights: string[], context: CallContext): Promise<NightAvailability[]>;
  /** All nights or none; idempotent per booking. Refusals: ROOM_UNAVAILABLE, ROOM_NOT_FOUND, RESERVATION_RELEASED. */
  reserve(bookingId: string, roomId: number, nights: string[], context: CallContext): Promise<void>;
  /** Idempotent; releasing before reserving makes a later reserve for the booking fail. */
  release(bookingId: string, roomId: number, nights: string[], context: CallContext): Promise<void>;
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface RoomNightLocks {
  /**
   * Locks every night of a room (`lock:room:{roomId}:{date}`), all at once. While they are
   * held elsewhere it retries until `waitUntil`, asking `keepWaiting` between attempts;
   * it throws LockTimeoutError when the time runs out.
   */
  acquire(
    roomId: number,
    nights: string[],
    options: { waitUntil: number; keepWaiting: () => Promise<void> },
  ): Promise<HeldLock>;
}

export type NewBooking = Pick<Booking, 'id' | 'userId' | 'roomId' | 'checkIn' | 'checkOut' | 'nights'>;

export interface BookingRepository {
  find(id: string): Promise<Booking | undefined>;
  /** Records the intent before inventory is touched; false if the id exists already. */
  insertPending(booking: NewBooking): Promise<boolean>;
  /** pending → confirmed; undefined if it was not pending any more. */
  markConfirmed(id: string): Promise<Booking | undefined>;
  /** Deletes a pending booking that inventory refused outright; no-op if no longer pending. */
  discardPending(id: string): Promise<void>;
  /** pending → failed; undefined if it was not pending any more. */
  markFailed(id: string, code: string, releaseOwed: boolean): Promise<Booking | undefined>;
  /** confirmed → cancelled with the release owed; undefined if it was not confirmed. */
  markCancelled(id: string): Promise<Booking | undefined>;
  /** Inventory has the nights back. */
  settleRelease(id: string): Promise<void>;
  /** Visible bookings, newest first: the page after `page.cursor`. */
  list(filter: { userId?: string; page: PageRequest }): Promise<Page<Booking>>;
  /** Fails pending bookings untouched for `staleMs`, owing their release; returns them. */
  abandonStalePending(staleMs: number, limit: number): Promise<Booking[]>;
  /** Bookings whose release has been owed for at least `graceMs`. */
  findOwedReleases(graceMs: number, limit: number): Promise<Booking[]>;
}

export interface BookingMetrics {
  outcome(outcome: string): void;
  recovered(kind: 'abandoned' | 'released'): void;
}

export interface Clock {
  today(): string;
}

export interface Logger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface BookingDeps {
  bookings: BookingRepository;
  inventory: Inventory;
  locks: RoomNightLocks;
  metrics: BookingMetrics;
  clock: Clock;
}

export type { Actor, Booking };
