import { z } from 'zod';
import {
  addDays,
  type NightAvailability,
  type OccupancyRow,
  type Page,
  type PageRequest,
  type Room,
  type RoomSearchRow,
} from '@cupo/contracts';
import { isCheckViolation, withDatabase, type Sql, type TransactionSql } from '@cupo/database';
import { Keyset } from '@cupo/paging';
import type { HeldReservation, InventoryStore, ReservationCursor } from '../../app/ports.js';
import { ReservationReleasedError, RoomNotFoundError, RoomUnavailableError } from '../../domain/errors.js';
import { reservationKey } from '../../domain/reservation-key.js';

// A room id within the column's range: a forged cursor is a 400, never an out-of-range query.
const ROOMS = new Keyset('rooms', z.tuple([z.number().int().positive().max(2_147_483_647)]));

/**
 * All of inventory's SQL. Every change to availability is one guarded statement inside a
 * transaction: the database, not the caller's lock, decides whether a night is still free.
 */
export class PostgresInventoryStore implements InventoryStore {
  constructor(private readonly sql: Sql) {}

  /** By id; each page is a range scan of the primary key from the cursor on. */
  async listRooms(page: PageRequest): Promise<Page<Room>> {
    const after = ROOMS.decode(page.cursor);
    const rows = await withDatabase(
      () => this.sql<Room[]>`
        SELECT id, name, type, total_quantity FROM rooms
        ${after ? this.sql`WHERE id > ${after[0]}` : this.sql``}
        ORDER BY id LIMIT ${page.limit + 1}`,
    );
    return ROOMS.page(
      rows,
      page.limit,
      (room) => [room.id],
      (room) => room,
    );
  }

  async getRoom(roomId: number): Promise<Room> {
    const [room] = await withDatabase(
      () => this.sql<Room[]>`
        SELECT id, name, type, total_quantity FROM rooms WHERE id = ${roomId}`,
    );
    if (!room) throw new RoomNotFoundError(roomId);
    return room;
  }

  /** Creates a room with `openDays` nights on sale from `firstNight`. */
  createRoom(room: Omit<Room, 'id'>, firstNight: string, openDays: number): Promise<Room> {
    return withDatabase(() =>
      this.sql.begin(async (tx) => {
        const [created] = await tx<Room[]>`
          INSERT INTO rooms (name, type, total_quantity)
          VALUES (${room.name}, ${room.type}, ${room.total_quantity})
          RETURNING id, name, type, total_quantity`;
        await openNights(tx, created!.id, room.total_quantity, firstNight, openDays);
        return created!;
      }),
    );
  }

  /** Each night in [from, to); nights not on sale read as total 0, available 0. */
  async getAvailability(roomId: number, from: string, to: string): Promise<NightAvailability[]> {
    // One round trip: this is the read bookings repeat while they wait for a lock. No rows
    // means no room (the window always has at least one night).
    const nights = await withDatabase(
      () => this.sql<NightAvailability[]>`
        SELECT to_char(d, 'YYYY-MM-DD') AS date,
               COALESCE(n.total, 0)     AS total,
               COALESCE(n.available, 0) AS available
        FROM rooms r
        CROSS JOIN generate_series(${from}::date, ${to}::date - 1, interval '1 day') AS d
        LEFT JOIN room_nights n ON n.room_id = r.id AND n.night = d::date
        WHERE r.id = ${roomId}
        ORDER BY d`,
    );
    if (nights.length === 0) throw new RoomNotFoundError(roomId);
    return nights;
  }

  /** Per room, over the nights [from, to): room-nights on sale, sold, and the share sold. */
  occupancy(from: string, to: string): Promise<OccupancyRow[]> {
    return withDatabase(async () => {
      const rows = await this.sql<OccupancyRow[]>`
        SELECT r.id AS room_id, r.name, r.type,
               COALESCE(sum(n.total), 0)::int AS room_nights,
               COALESCE(sum(n.total - n.available), 0)::int AS sold
        FROM rooms r
        LEFT JOIN room_nights n ON n.room_id = r.id AND n.night >= ${from} AND n.night < ${to}
        GROUP BY r.id ORDER BY r.id`;
      return rows.map((row) => ({ ...row, occupancy: row.room_nights ? Number((row.sold / row.room_nights).toFixed(4)) : 0 }));
    });
  }

  /** Rooms with at least `minAvailable` units free on every night of [from, to). */
  searchRooms(from: string, to: string, minAvailable: number): Promise<RoomSearchRow[]> {
    return withDatabase(() =>
      this.sql<RoomSearchRow[]>`
        SELECT r.id AS room_id, r.name, r.type, min(n.available)::int AS min_available
        FROM rooms r JOIN room_nights n ON n.room_id = r.id AND n.night >= ${from} AND n.night < ${to}
        GROUP BY r.id
        HAVING count(*) = (${to}::date - ${from}::date) AND min(n.available) >= ${minAvailable}
        ORDER BY min(n.available) DESC, r.id`.then((rows) => [...rows]),
    );
  }

  /**
   * Takes one unit of every night for the booking's attempt, all or none, in one statement
   * (one round trip, one commit: this is the hot path of every booking). Idempotent per
   * booking attempt: a redelivered reserve finds its reservation and changes nothing.
   *
   * All or none comes from the database itself. The reservation row is written only when
   * every night is on sale, and the decrement is unconditional: if any night is sold out,
   * `room_nights_available_within_total` (available >= 0) fails the statement, and with it
   * the reservation row and the other nights' decrements.
   */
  async reserve(bookingId: string, attempt: number, roomId: number, nights: string[]): Promise<'reserved'> {
    const key = reservationKey(bookingId, attempt);
    let taken: number;
    try {
      // Rows are locked in night order (the CTE's ORDER BY … FOR UPDATE), so two bookings
      // over overlapping ranges queue behind each other instead of deadlocking.
      const rows = await withDatabase(
        () => this.sql`
          WITH reservation AS (
            INSERT INTO reservations (booking_id, booking, attempt, room_id, nights, status, reserved_at)
            SELECT ${key}, ${bookingId}, ${attempt}, ${roomId}, ${nights}::date[], 'reserved', now()
            WHERE (SELECT count(*) FROM room_nights
                   WHERE room_id = ${roomId} AND night = ANY(${nights}::date[])) = ${nights.length}
            ON CONFLICT (booking_id) DO NOTHING
            RETURNING booking_id
          ), locked AS (
            SELECT night FROM room_nights
            WHERE room_id = ${roomId} AND night = ANY(${nights}::date[])
              AND EXISTS (SELECT FROM reservation)
            ORDER BY night
            FOR UPDATE
          )
          UPDATE room_nights n
          SET available = n.available - 1
          FROM locked
          WHERE n.room_id = ${roomId} AND n.night = locked.night
          RETURNING n.night`,
      );
      taken = rows.length;
    } catch (error) {
      if (!isCheckViolation(error, 'room_nights_available_within_total')) throw error;
      throw new RoomUnavailableError(roomId, await this.soldOutNights(roomId, nights));
    }
    if (taken === nights.length) return 'reserved';
    // Nothing was written: the booking already had a reservation (a redelivered or
    // duplicate reserve), or a night is not on sale. Only this path pays for telling which.
    const [existing] = await withDatabase(
      () => this.sql<{ status: string }[]>`
        SELECT status FROM reservations WHERE booking_id = ${key}`,
    );
    if (existing?.status === 'reserved') return 'reserved';
    if (existing) throw new ReservationReleasedError(bookingId);
    await this.getRoom(roomId); // RoomNotFoundError when there is no such room
    throw new RoomUnavailableError(roomId, await this.soldOutNights(roomId, nights));
  }

  /** The nights of `nights` with nothing left (or not on sale); all of them if none is (a race). */
  private async soldOutNights(roomId: number, nights: string[]): Promise<string[]> {
    const free = await withDatabase(
      () => this.sql<{ night: string }[]>`
        SELECT to_char(night, 'YYYY-MM-DD') AS night FROM room_nights
        WHERE room_id = ${roomId} AND night = ANY(${nights}::date[]) AND available > 0`,
    );
    const available = new Set(free.map((row) => row.night));
    const soldOut = nights.filter((night) => !available.has(night));
    return soldOut.length > 0 ? soldOut : nights;
  }

  /**
   * Gives the booking's nights back, once. Releasing a booking that never reserved leaves a
   * tombstone, so a reserve still in flight for it (a late or redelivered command) fails
   * instead of taking nights nobody will ever give back.
   *
   * Unlike reserve, this takes several statements: when the tombstone insert waits on a
   * reserve in flight that then commits, only a new statement's snapshot (READ COMMITTED)
   * sees that reservation and releases it; a single statement would miss it and leak nights.
   */
  release(bookingId: string, attempt: number, roomId: number, nights: string[]): Promise<'released'> {
    const key = reservationKey(bookingId, attempt);
    return withDatabase(() =>
      this.sql.begin(async (tx) => {
        const tombstone = await tx`
          INSERT INTO reservations (booking_id, booking, attempt, room_id, nights, status, released_at)
          VALUES (${key}, ${bookingId}, ${attempt}, ${roomId}, ${nights}::date[], 'released', now())
          ON CONFLICT (booking_id) DO NOTHING
          RETURNING booking_id`;
        if (tombstone.length > 0) return 'released' as const;
        // The nights stored with the reservation are the ones to return, not the message's.
        const [released] = await tx<{ room_id: number; nights: string[] }[]>`
          UPDATE reservations
          SET status = 'released', released_at = now()
          WHERE booking_id = ${key} AND status = 'reserved'
          RETURNING room_id, nights::text[] AS nights`;
        if (released) {
          await tx`
            WITH locked AS (
              SELECT night FROM room_nights
              WHERE room_id = ${released.room_id} AND night = ANY(${released.nights}::date[])
              ORDER BY night
              FOR UPDATE
            )
            UPDATE room_nights n
            SET available = n.available + 1
            FROM locked
            WHERE n.room_id = ${released.room_id} AND n.night = locked.night`;
        }
        return 'released' as const;
      }),
    );
  }

  /**
   * One page of the reservations holding nights, oldest first, that were made at least
   * `olderThanMs` ago (younger ones may belong to bookings still in flight). Keyset-paged,
   * so each page costs the same however many reservations exist.
   */
  heldReservations(after: ReservationCursor | undefined, olderThanMs: number, limit: number): Promise<HeldReservation[]> {
    // The cursor condition is left out, not switched off by a flag (`$1 OR …`): a generic plan
    // could not bound the index scan with a flagged condition and would read the walk from its start.
    // ORDER BY names the table's columns: bare `reserved_at, booking_id` would be the output
    // columns of the same names (the text and the COALESCE), a sort of every held reservation
    // per page, in an order the cursor (on the columns) does not follow.
    // The cursor's time goes in as text: a timestamptz parameter passes through a JS Date in
    // the driver and loses its microseconds, and the walk would then see a row twice.
    const afterKey = after ? reservationKey(after.booking_id, after.attempt) : null;
    return withDatabase(() =>
      this.sql<HeldReservation[]>`
        SELECT COALESCE(booking, booking_id) AS booking_id, attempt, room_id, nights::text[] AS nights,
               to_char(reserved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS reserved_at
        FROM reservations
        WHERE status = 'reserved'
          AND reserved_at < now() - make_interval(secs => ${olderThanMs / 1000})
          ${after ? this.sql`AND (reserved_at, booking_id) > (${after.reserved_at}::text::timestamptz, ${afterKey}::uuid)` : this.sql``}
        ORDER BY reservations.reserved_at, reservations.booking_id
        LIMIT ${limit}`.then((rows) => [...rows]),
    );
  }

  /** Which of these booking attempts hold nights right now. */
  async heldAmong(keys: { booking_id: string; attempt: number }[]): Promise<{ booking_id: string; attempt: number }[]> {
    if (keys.length === 0) return [];
    return withDatabase(() =>
      this.sql<{ booking_id: string; attempt: number }[]>`
        SELECT COALESCE(booking, booking_id) AS booking_id, attempt
        FROM reservations
        WHERE booking_id IN ${this.sql(keys.map((k) => reservationKey(k.booking_id, k.attempt)))} AND status = 'reserved'`.then((rows) => [
        ...rows,
      ]),
    );
  }
}

/** Puts `days` nights from `firstNight` on sale, leaving nights already on sale untouched. */
export async function openNights(tx: TransactionSql | Sql, roomId: number, total: number, firstNight: string, days: number): Promise<void> {
  await tx`
    INSERT INTO room_nights (room_id, night, total, available)
    SELECT ${roomId}, d::date, ${total}, ${total}
    FROM generate_series(${firstNight}::date, ${addDays(firstNight, days - 1)}::date, interval '1 day') AS d
    ON CONFLICT (room_id, night) DO NOTHING`;
}
