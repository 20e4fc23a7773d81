import type { NightAvailability, OccupancyRow, Page, PageRequest, Room, RoomSearchRow } from '@cupo/contracts';

/** What inventory's use cases need from the outside world; adapters implement these. */

/** A reservation still holding nights, as the reconciler sees it. */
export interface HeldReservation {
  booking_id: string;
  attempt: number;
  room_id: number;
  nights: string[];
  reserved_at: string;
}

/** Where a walk over held reservations stopped: the last one seen, in (reserved_at, booking_id, attempt) order. */
export interface ReservationCursor {
  reserved_at: string;
  booking_id: string;
  attempt: number;
}

export interface AttemptKey {
  booking_id: string;
  attempt: number;
}

/**
 * Rooms, their nights and the reservations holding them. The store is the arbiter: every
 * change to availability is one guarded statement, so it refuses to oversell by itself.
 */
export interface InventoryStore {
  listRooms(page: PageRequest): Promise<Page<Room>>;
  /** Throws RoomNotFoundError for an unknown room. */
  getRoom(roomId: number): Promise<Room>;
  /** Creates a room with `openDays` nights on sale from `firstNight`. */
  createRoom(room: Omit<Room, 'id'>, firstNight: string, openDays: number): Promise<Room>;
  /** Each night in [from, to); throws RoomNotFoundError for an unknown room. */
  getAvailability(roomId: number, from: string, to: string): Promise<NightAvailability[]>;
  occupancy(from: string, to: string): Promise<OccupancyRow[]>;
  searchRooms(from: string, to: string, minAvailable: number): Promise<RoomSearchRow[]>;
  /**
   * All nights or none, idempotent per booking attempt. Refusals: RoomUnavailableError,
   * RoomNotFoundError, ReservationReleasedError (this attempt was released already).
   */
  reserve(bookingId: string, attempt: number, roomId: number, nights: string[]): Promise<'reserved'>;
  /** Idempotent; releasing an attempt that never reserved leaves a tombstone that refuses it later. */
  release(bookingId: string, attempt: number, roomId: number, nights: string[]): Promise<'released'>;
  heldReservations(after: ReservationCursor | undefined, olderThanMs: number, limit: number): Promise<HeldReservation[]>;
  heldAmong(keys: AttemptKey[]): Promise<AttemptKey[]>;
}

export interface Clock {
  today(): string;
}

export interface InventoryDeps {
  store: InventoryStore;
  clock: Clock;
}

/** The contract types the store speaks in, so its fakes need only the port. */
export type { NightAvailability, OccupancyRow, Page, PageRequest, Room, RoomSearchRow };
