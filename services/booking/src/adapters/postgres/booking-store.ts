import { z } from 'zod';
import type { Page, PageRequest } from '@cupo/contracts';
import { withDatabase, type Sql } from '@cupo/database';
import { Keyset } from '@cupo/paging';
import type { Booking } from '../../domain/booking.js';
import type { BookingStore, ConfirmedCursor, NewBooking } from '../../app/ports.js';

interface Row {
  id: string;
  user_id: string;
  room_id: number;
  check_in: string;
  check_out: string;
  nights: number;
  status: Booking['status'];
  attempt: number;
  attempt_id: string | null;
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
  attempt: row.attempt,
  attemptId: row.attempt_id,
  failureCode: row.failure_code,
  releaseOwed: row.release_owed,
  createdAt: row.created_at,
  cancelledAt: row.cancelled_at,
});

/**
 * Every state change is a guarded UPDATE (`WHERE status = …`): when a handler and the
 * recovery loop race for the same booking, exactly one of them wins the transition.
 */
export class PostgresBookingStore implements BookingStore {
  constructor(private readonly sql: Sql) {}

  async find(id: string): Promise<Booking | undefined> {
    const [row] = await withDatabase(() => this.sql<Row[]>`SELECT * FROM bookings WHERE id = ${id}`);
    return row && toBooking(row);
  }

  /**
   * One statement, one round trip: the row written, or the one that already had this id. The
   * read half sees the statement's snapshot, so a row committed by a concurrent insert after
   * it began (the lock expired under a stalled twin) is not in it: only then a second read.
   */
  async insertPending(booking: NewBooking): Promise<Booking> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        WITH inserted AS (
          INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status, attempt_id)
          VALUES (${booking.id}, ${booking.userId}, ${booking.roomId}, ${booking.checkIn},
                  ${booking.checkOut}, ${booking.nights}, 'pending', ${booking.attemptId})
          ON CONFLICT (id) DO NOTHING
          RETURNING *
        )
        SELECT * FROM inserted
        UNION ALL
        SELECT * FROM bookings WHERE id = ${booking.id} AND NOT EXISTS (SELECT FROM inserted)`,
    );
    return row ? toBooking(row) : this.mustFind(booking.id);
  }

  async recordRefusal(booking: NewBooking, code: string): Promise<Booking> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status, failure_code, attempt_id)
        VALUES (${booking.id}, ${booking.userId}, ${booking.roomId}, ${booking.checkIn},
                ${booking.checkOut}, ${booking.nights}, 'failed', ${code}, ${booking.attemptId})
        ON CONFLICT (id) DO UPDATE
          SET failure_code = EXCLUDED.failure_code, attempt_id = EXCLUDED.attempt_id, updated_at = now()
          WHERE bookings.status = 'failed' AND NOT bookings.release_owed
        RETURNING *`,
    );
    return row ? toBooking(row) : this.mustFind(booking.id);
  }

  async restartFailed(id: string, attemptId: string): Promise<Booking | undefined> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings
        SET status = 'pending', attempt = attempt + 1, attempt_id = ${attemptId}, failure_code = NULL, updated_at = now()
        WHERE id = ${id} AND status = 'failed' AND NOT release_owed
        RETURNING *`,
    );
    return row && toBooking(row);
  }

  private async mustFind(id: string): Promise<Booking> {
    const found = await this.find(id);
    if (!found) throw new Error(`booking ${id} vanished between its insert and its read`);
    return found;
  }

  async markConfirmed(id: string, attempt: number): Promise<Booking | undefined> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings SET status = 'confirmed', confirmed_at = now(), updated_at = now()
        WHERE id = ${id} AND attempt = ${attempt} AND status = 'pending'
        RETURNING *`,
    );
    return row && toBooking(row);
  }

  async discardPending(id: string): Promise<void> {
    await withDatabase(() => this.sql`DELETE FROM bookings WHERE id = ${id} AND status = 'pending' AND attempt = 1`);
  }

  async markFailed(id: string, attempt: number, code: string, releaseOwed: boolean): Promise<Booking | undefined> {
    const [row] = await withDatabase(
      () => this.sql<Row[]>`
        UPDATE bookings
        SET status = 'failed', failure_code = ${code}, release_owed = ${releaseOwed}, updated_at = now()
        WHERE id = ${id} AND attempt = ${attempt} AND status = 'pending'
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

  async settleRelease(id: string, attempt: number): Promise<void> {
    await withDatabase(
      () => this.sql`UPDATE bookings SET release_owed = false, updated_at = now() WHERE id = ${id} AND attempt = ${attempt}`,
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

  async findMany(ids: string[]): Promise<Booking[]> {
    if (ids.length === 0) return [];
    const rows = await withDatabase(() => this.sql<Row[]>`SELECT * FROM bookings WHERE id IN ${this.sql(ids)}`);
    return rows.map(toBooking);
  }

  /**
   * One page of the reconciler's walk: a range scan of bookings_confirmed_order from the cursor.
   * The cursor condition is left out, not switched off by a flag (`$1 OR …`): a generic plan
   * could not use a flagged condition as the index bound, and each page would scan the walk
   * from its start.
   */
  async confirmedPage(
    after: ConfirmedCursor | undefined,
    olderThanMs: number,
    limit: number,
  ): Promise<(Booking & { confirmedAt: string })[]> {
    const rows = await withDatabase(
      () => this.sql<(Row & { confirmed_at_text: string })[]>`
        SELECT *, to_char(confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS confirmed_at_text
        FROM bookings
        WHERE status = 'confirmed'
          AND confirmed_at < now() - make_interval(secs => ${olderThanMs / 1000})
          ${after ? this.sql`AND (confirmed_at, id) > (${after.confirmedAt}::text::timestamptz, ${after.id}::uuid)` : this.sql``}
        ORDER BY confirmed_at, id
        LIMIT ${limit}`,
    );
    return rows.map((row) => ({ ...toBooking(row), confirmedAt: row.confirmed_at_text }));
  }

  async repairConfirmed(id: string, attempt: number, repair: () => Promise<boolean>): Promise<'restored' | 'cancelled' | undefined> {
    return withDatabase(() =>
      this.sql.begin(async (tx) => {
        const [row] = await tx`
          SELECT id FROM bookings WHERE id = ${id} AND status = 'confirmed' AND attempt = ${attempt} FOR UPDATE`;
        if (!row) return undefined;
        if (await repair()) return 'restored' as const;
        await tx`
          UPDATE bookings
          SET status = 'cancelled', failure_code = 'NIGHTS_LOST', cancelled_at = now(), updated_at = now()
          WHERE id = ${id}`;
        return 'cancelled' as const;
      }),
    );
  }

  async walkStep<P, T>(
    walk: string,
    step: (position: P | undefined) => Promise<{ position: P | undefined; result: T }>,
  ): Promise<T | undefined> {
    await withDatabase(() => this.sql`INSERT INTO reconciliation_cursors (walk) VALUES (${walk}) ON CONFLICT DO NOTHING`);
    let result: T | undefined;
    await withDatabase(() =>
      this.sql.begin(async (tx) => {
        // The walk's row is its mutex: a replica finding it locked leaves this step to the holder.
        const [cursor] = await tx<{ position: P | null }[]>`
          SELECT position FROM reconciliation_cursors WHERE walk = ${walk} FOR UPDATE SKIP LOCKED`;
        if (!cursor) return;
        const done = await step(cursor.position ?? undefined);
        await tx`
          UPDATE reconciliation_cursors
          SET position = ${done.position === undefined ? null : tx.json(done.position as Parameters<typeof tx.json>[0])}, updated_at = now()
          WHERE walk = ${walk}`;
        result = done.result;
      }),
    );
    return result;
  }
}
