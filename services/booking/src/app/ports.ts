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

/** One attempt's reservation of a booking, as inventory keys it. */
export interface ReservationKey {
  bookingId: string;
  attempt: number;
}

export interface HeldReservation extends ReservationKey {
  roomId: number;
  nights: string[];
  reservedAt: string;
}

export interface Inventory {
  /** Throws the not-found error for an unknown room. */
  availability(roomId: number, nights: string[], context: CallContext): Promise<NightAvailability[]>;
  /**
   * All nights or none; idempotent per booking attempt. Refusals: ROOM_UNAVAILABLE,
   * ROOM_NOT_FOUND, RESERVATION_RELEASED.
   */
  reserve(key: ReservationKey, roomId: number, nights: string[], context: CallContext): Promise<void>;
  /** Idempotent; releasing before reserving makes a later reserve for that attempt fail. */
  release(key: ReservationKey, roomId: number, nights: string[], context: CallContext): Promise<void>;
  /** Reservations holding nights, made at least `olderThanMs` ago, oldest first, after `after`. */
  heldReservations(
    after: HeldReservation | undefined,
    olderThanMs: number,
    limit: number,
    context: CallContext,
  ): Promise<HeldReservation[]>;
  /** Which of these attempts hold nights. */
  heldAmong(keys: ReservationKey[], context: CallContext): Promise<ReservationKey[]>;
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
  acquire(roomId: number, nights: string[], options: { waitUntil: number; keepWaiting: () => Promise<void> }): Promise<HeldLock>;
}

export type NewBooking = Pick<Booking, 'id' | 'userId' | 'roomId' | 'checkIn' | 'checkOut' | 'nights'> & {
  /** The client request making this attempt. */
  attemptId: string;
};

/** Where the walk over confirmed bookings stopped. */
export interface ConfirmedCursor {
  confirmedAt: string;
  id: string;
}

export interface BookingStore {
  find(id: string): Promise<Booking | undefined>;
  /**
   * Records the intent (pending, attempt 1) before inventory is touched. Returns the row as it
   * stands: the one written, or the one that already had this id.
   */
  insertPending(booking: NewBooking): Promise<Booking>;
  /**
   * Records a refusal decided before any reserve (the nights sold out while it waited): a new
   * `failed` row for this attempt, or a failed row owing nothing taken over by it. Returns the
   * row as it stands; a pending, final or still-owing row is left as it was.
   */
  recordRefusal(booking: NewBooking, code: string): Promise<Booking>;
  /** failed (owing nothing) → pending under the next attempt, made by `attemptId`. */
  restartFailed(id: string, attemptId: string): Promise<Booking | undefined>;
  /**
   * pending → confirmed, for this attempt only; undefined if it was not pending under it any
   * more (a stalled handler of an earlier attempt must never confirm a later one).
   */
  markConfirmed(id: string, attempt: number): Promise<Booking | undefined>;
  /** Deletes a first attempt still pending (its room does not exist: nothing to remember). */
  discardPending(id: string): Promise<void>;
  /**
   * pending → failed, the refusal or failure recorded (so a duplicate of the same request
   * gets the same answer); undefined if it was not pending any more.
   */
  markFailed(id: string, attempt: number, code: string, releaseOwed: boolean): Promise<Booking | undefined>;
  /** confirmed → cancelled with the release owed; undefined if it was not confirmed. */
  markCancelled(id: string): Promise<Booking | undefined>;
  /** Inventory has this attempt's nights back (a later attempt's debt stays owed). */
  settleRelease(id: string, attempt: number): Promise<void>;
  /** Visible bookings, newest first: the page after `page.cursor`. */
  list(filter: { userId?: string; page: PageRequest }): Promise<Page<Booking>>;
  /** Fails pending bookings untouched for `staleMs`, owing their release; returns them. */
  abandonStalePending(staleMs: number, limit: number): Promise<Booking[]>;
  /** Bookings whose release has been owed for at least `graceMs`. */
  findOwedReleases(graceMs: number, limit: number): Promise<Booking[]>;
  /** The bookings with these ids (the reconciler's owners of held reservations). */
  findMany(ids: string[]): Promise<Booking[]>;
  /** Confirmed bookings, confirmed at least `olderThanMs` ago, in confirmation order, after `after`. */
  confirmedPage(after: ConfirmedCursor | undefined, olderThanMs: number, limit: number): Promise<(Booking & { confirmedAt: string })[]>;
  /**
   * Runs `repair` while holding the booking's row, if it is still confirmed under `attempt`
   * (so a cancel cannot cross it); `repair` answers whether the nights are held again. When
   * they cannot be, the booking is cancelled with NIGHTS_LOST. Undefined if it had changed.
   */
  repairConfirmed(id: string, attempt: number, repair: () => Promise<boolean>): Promise<'restored' | 'cancelled' | undefined>;
  /**
   * Runs one step of a walk (`walk` names it) if no other replica is running that walk now,
   * from where the last step stopped; the step returns where to continue (undefined: start
   * over). Undefined if another replica had the walk.
   */
  walkStep<P, T>(walk: string, step: (position: P | undefined) => Promise<{ position: P | undefined; result: T }>): Promise<T | undefined>;
}

export interface BookingMetrics {
  outcome(outcome: string): void;
  recovered(kind: 'abandoned' | 'released'): void;
  reconciled(kind: 'reservation_without_booking' | 'booking_without_nights', action: 'released' | 'restored' | 'cancelled'): void;
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
  bookings: BookingStore;
  inventory: Inventory;
  locks: RoomNightLocks;
  metrics: BookingMetrics;
  clock: Clock;
}

export type { Actor, Booking };
