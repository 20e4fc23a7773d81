import { z } from 'zod';
import type { Page, PageRequest } from '@cupo/contracts';
import { isUniqueViolation, withDatabase, type Sql } from '@cupo/database';
import { Keyset } from '@cupo/paging';
import type { Booking } from '../../domain/booking.js';
import type { BookingRepository, NewBooking } from '../../app/ports.js';

interface Row {
  id: string;
  user_id: string;
  room_id: number;
  check_in: string;
  check_out: string;
  nights: number;
  status: Booking['status'];
  failure_code: string | null;
  release_owed: boolean;
  created_at: Date;
  cancelled_at: Date | null;
}

/**
 * Bookings are listed newest first by (created_at, id). The cursor keeps created_at to the
 * microsecond as PostgreSQL has it: a JavaScript Date would round it to the millisecond and
 * the next page would then repeat or skip bookings made within the same millisecond. For
 * the same reason it goes back as text (`::text::timestamptz`): porsager sends a
 * timestamptz parameter through a Date.
 */
const BOOKINGS = new Keyset('bookings', z.tuple([z.iso.datetime({ precision: 6 }), z.uuid()]));

const toBooking = (row: Row): Booking => ({
  id: row.id,
  userId: row.user_id,
  roomId: row.room_id,
  checkIn: row.check_in,
  checkOut: row.check_out,
  nights: row.nights,
  status: row.status,
  failureCode: row.failure_code,
  releaseOwed: row.release_owed,
  createdAt: row.created_at,
  cancelledAt: row.cancelled_at,
});

/**
 * Every state change is a guarded UPDATE (`WHERE status = …`): when a handler and the
 * recovery loop race for the same booking, exactly one of them wins the transition.
 */
export class PostgresBookingRepository implements BookingRepository {
  constructor(private readonly sql: Sql) {}

  async find(id: string): Promise<Booking | undefined> {
    const [row] = await withDatabase(() => this.sql<Row[]>`SELECT * FROM bookings WHERE id = ${id}`);
    return row && toBooking(row);
  }

  async insertPending(booking: NewBooking): Promise<boolean> {
    try {
      await withDatabase(
        () => this.sql`
          INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status)
          VALUES (${booking.id}, ${booking.userId}, ${booking.roomId}, ${booking.checkIn},
                  ${booking.checkOut}, ${booking.nights}, 'pending')`,
      );
      return true;
    } catch (error) {
      if (isUniqueViolation(error, 'bookings_pkey')) return false;
      throw error;
    }
  }

  async markConfirmed(id: string): Promise<Booking | undefined> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings SET status = 'confirmed', confirmed_at = now(), updated_at = now()
        WHERE id = ${id} AND status = 'pending'
        RETURNING *`,
    );
    return row && toBooking(row);
  }

  async discardPending(id: string): Promise<void> {
    await withDatabase(() => this.sql`DELETE FROM bookings WHERE id = ${id} AND status = 'pending'`);
  }

  async markFailed(id: string, code: string, releaseOwed: boolean): Promise<Booking | undefined> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings
        SET status = 'failed', failure_code = ${code}, release_owed = ${releaseOwed}, updated_at = now()
        WHERE id = ${id} AND status = 'pending'
        RETURNING *`,
    );
    return row && toBooking(row);
  }

  async markCancelled(id: string): Promise<Booking | undefined> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings
        SET status = 'cancelled', release_owed = true, cancelled_at = now(), updated_at = now()
        WHERE id = ${id} AND status = 'confirmed'
        RETURNING *`,
    );
    return row && toBooking(row);
  }

  async settleRelease(id: string): Promise<void> {
    await withDatabase(
      () => this.sql`UPDATE bookings SET release_owed = false, updated_at = now() WHERE id = ${id}`,
    );
  }

  /** Newest first; the page query is one range scan of bookings_page or bookings_by_user_page. */
  async list(filter: { userId?: string; page: PageRequest }): Promise<Page<Booking>> {
    const { limit } = filter.page;
    const after = BOOKINGS.decode(filter.page.cursor);
    const rows = await withDatabase(
      () => this.sql<(Row & { cursor_at: string })[]>`
        SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM bookings
        WHERE status <> 'failed'
          ${filter.userId === undefined ? this.sql`` : this.sql`AND user_id = ${filter.userId}`}
          ${after ? this.sql`AND (created_at, id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : this.sql``}
        ORDER BY created_at DESC, id DESC
        LIMIT ${limit + 1}`,
    );
    return BOOKINGS.page(rows, limit, (row) => [row.cursor_at, row.id], toBooking);
  }

  async abandonStalePending(staleMs: number, limit: number): Promise<Booking[]> {
    const rows = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings
        SET status = 'failed', failure_code = 'ABANDONED', release_owed = true, updated_at = now()
        WHERE id IN (
          SELECT id FROM bookings
          WHERE status = 'pending' AND updated_at < now() - make_interval(secs => ${staleMs / 1000})
          ORDER BY updated_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        ) AND status = 'pending'
        RETURNING *`,
    );
    return rows.map(toBooking);
  }

  async findOwedReleases(graceMs: number, limit: number): Promise<Booking[]> {
    const rows = await withDatabase(
      () => this.sql<Row[]>`
        SELECT * FROM bookings
        WHERE release_owed AND updated_at < now() - make_interval(secs => ${graceMs / 1000})
        ORDER BY updated_at
        LIMIT ${limit}`,
    );
    return rows.map(toBooking);
  }
}
