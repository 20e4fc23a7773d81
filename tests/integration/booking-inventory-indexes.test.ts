import { randomUUID } from 'node:crypto';
import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBookingStore } from '../../services/booking/src/adapters/postgres/booking-store.js';
import { PostgresInventoryStore } from '../../services/inventory/src/adapters/postgres/inventory-store.js';
import { migratedDatabase } from './database.js';
import { type Captured, capturing as capturingPool, explainGeneric, planText } from './plans.js';

/**
 * Every statement booking and inventory send on a request path or from a periodic job (the
 * recovery pass, paying release debts, the reconciler's two walks) must find its rows by
 * index: a sequential scan costs O(history) per booking or per pass, invisible on the small
 * tables of other tests. Checked on the SQL the stores really send (captured with the pool's
 * onQuery hook while every store method runs), against tables filled with enough rows that a
 * scan would be priced as what it is, with sequential scans priced out: the planner still
 * picks one only when no index can serve the lookup.
 *
 * The paged statements are also checked as generic plans (what a prepared statement falls
 * back to after five runs): their cursor must bound the index scan, not filter it, or each
 * page of a walk would read the walk from its start.
 */
let bookingDb: Awaited<ReturnType<typeof migratedDatabase>>;
let inventoryDb: Awaited<ReturnType<typeof migratedDatabase>>;
const pools: Sql[] = [];

beforeAll(async () => {
  [bookingDb, inventoryDb] = await Promise.all([migratedDatabase('booking', 2), migratedDatabase('inventory', 2)]);
  // History: 100,000 bookings, most confirmed, some cancelled, failed or owing a release.
  await bookingDb.sql.unsafe(`
    INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status, attempt, attempt_id,
                          release_owed, created_at, updated_at, confirmed_at)
    SELECT gen_random_uuid(), 'u' || (i % 5000), 1 + i % 1000, DATE '2030-01-01' + i % 300, DATE '2030-01-01' + i % 300 + 2, 2,
           s.status, 1, 'r' || i, s.status <> 'confirmed' AND i % 7 = 0,
           now() - make_interval(secs => i * 60), now() - make_interval(secs => i * 60),
           CASE WHEN s.status IN ('confirmed', 'cancelled') THEN now() - make_interval(secs => i * 60) END
    FROM generate_series(1, 100000) AS i
    CROSS JOIN LATERAL (SELECT CASE WHEN i % 1000 = 1 THEN 'pending' WHEN i % 50 = 0 THEN 'failed'
                                    WHEN i % 20 = 0 THEN 'cancelled' ELSE 'confirmed' END AS status) AS s`);
  // A year of nights for 500 rooms, and 100,000 reservations (a fifth released).
  await inventoryDb.sql.unsafe(`
    INSERT INTO rooms (id, name, type, total_quantity) SELECT r, 'room ' || r, 'double', 50 FROM generate_series(1, 500) AS r;
    SELECT setval(pg_get_serial_sequence('rooms', 'id'), 500);
    INSERT INTO room_nights (room_id, night, total, available)
    SELECT r, DATE '2030-01-01' + d, 50, 40 FROM generate_series(1, 500) AS r, generate_series(0, 364) AS d;
    INSERT INTO reservations (booking_id, booking, attempt, room_id, nights, status, reserved_at, released_at)
    SELECT gen_random_uuid(), NULL, 1, 1 + i % 500, ARRAY[DATE '2030-01-01' + i % 360],
           CASE WHEN i % 5 = 0 THEN 'released' ELSE 'reserved' END,
           now() - make_interval(secs => i * 30), CASE WHEN i % 5 = 0 THEN now() END
    FROM generate_series(1, 100000) AS i;`);
  await Promise.all([bookingDb.sql`ANALYZE`, inventoryDb.sql`ANALYZE`]);
}, 120_000);

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
  await bookingDb?.drop();
  await inventoryDb?.drop();
});

/** A capturing pool (plans.ts), ended after the file's tests. */
function capturing(url: string) {
  const captured = capturingPool(url, 'indexes-it');
  pools.push(captured.pool);
  return captured;
}

const transactionControl = /^\s*(begin|commit|rollback|savepoint|release)\b/i;

async function explain(sql: Sql, { query, parameters }: Captured): Promise<string> {
  return planText(
    await sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe(`EXPLAIN ${query}`, parameters as never[]);
    }),
  );
}

/**
 * Sorts that feed a Limit (through nodes that only pass rows on): every matching row is read
 * and sorted for each page. A sort above the Limit (of the page itself, as IN's Unique does for
 * the recovery pass's batch) costs the page size, not the history.
 */
function sortsBeforeLimit(plan: string): string[] {
  const nodes = plan.split('\n').map((line) => ({ depth: line.search(/\S/), name: line.replace(/^\s*(->\s*)?/, '').split('  (')[0]! }));
  const passThrough = /^(Result|Gather Merge|Gather|Subquery Scan|LockRows)\b/;
  const found: string[] = [];
  nodes.forEach((node, i) => {
    if (!/^(Sort|Incremental Sort)$/.test(node.name)) return;
    let depth = node.depth;
    for (let j = i - 1; j >= 0; j -= 1) {
      const parent = nodes[j]!;
      if (parent.depth >= depth || parent.name.startsWith('Sort Key') || /^[A-Z][a-z ]+:/.test(parent.name)) continue;
      if (passThrough.test(parent.name)) {
        depth = parent.depth;
        continue;
      }
      if (parent.name === 'Limit') found.push(node.name);
      break;
    }
  });
  return found;
}

async function expectIndexed(sql: Sql, statements: Captured[], minimum: number) {
  // Not transaction control, nor the driver's own start-up query on the catalog.
  const checked = statements.filter((s) => !transactionControl.test(s.query) && !/pg_catalog\./.test(s.query));
  expect(checked.length).toBeGreaterThanOrEqual(minimum);
  for (const statement of checked) {
    const text = await explain(sql, statement);
    expect(text, `${statement.caller}:\n${statement.query}\n${text}`).not.toMatch(/Seq Scan/);
    if (/ORDER BY[\s\S]*LIMIT/i.test(statement.query)) {
      const generic = await explainGeneric(sql, statement);
      expect(generic, `${statement.caller} (generic plan):\n${statement.query}\n${generic}`).not.toMatch(/Seq Scan/);
      expect(sortsBeforeLimit(generic), `${statement.caller} (generic plan) sorts every match:\n${statement.query}\n${generic}`).toEqual(
        [],
      );
      // A keyset cursor in the statement is an index bound in the generic plan too.
      if (/\)\s*[<>]\s*\(/.test(statement.query))
        expect(generic, `${statement.caller}: cursor not an index bound\n${generic}`).toMatch(/Index Cond: .*ROW\(/);
    }
  }
}

describe('booking’s statements are served by indexes', () => {
  it('on the request path, in the recovery pass and in the reconciler’s walk over confirmed bookings', async () => {
    const { pool, statements, as } = capturing(bookingDb.url);
    const store = new PostgresBookingStore(pool);
    const intent = (id = randomUUID()) => ({
      id,
      userId: 'u1',
      roomId: 1,
      checkIn: '2030-05-01',
      checkOut: '2030-05-03',
      nights: 2,
      attemptId: 'a',
    });
    // Confirm: written pending (and read back), confirmed; a refusal; a failure; a retry; a discard.
    const fresh = await as('insertPending', () => store.insertPending(intent()));
    await as('insertPending (existing)', () => store.insertPending({ ...intent(fresh.id), attemptId: 'b' }));
    await as('markConfirmed', () => store.markConfirmed(fresh.id, 1));
    await as('find', () => store.find(fresh.id));
    await as('recordRefusal', () => store.recordRefusal(intent(), 'ROOM_UNAVAILABLE'));
    const failing = await as('insertPending', () => store.insertPending(intent()));
    await as('markFailed', () => store.markFailed(failing.id, 1, 'UPSTREAM_TIMEOUT', true));
    await as('settleRelease', () => store.settleRelease(failing.id, 1));
    await as('restartFailed', () => store.restartFailed(failing.id, 'c'));
    await as('recordRefusal (existing)', () => store.recordRefusal(intent(failing.id), 'ROOM_UNAVAILABLE'));
    await as('discardPending', () => store.discardPending(randomUUID()));
    // Cancel, get and list.
    await as('markCancelled', () => store.markCancelled(fresh.id));
    const first = await as('list', () => store.list({ page: { limit: 2 } }));
    await as('list (next page)', () => store.list({ page: { limit: 2, cursor: first.next! } }));
    const mine = await as('list (one user)', () => store.list({ userId: 'u7', page: { limit: 2 } }));
    await as('list (one user, next page)', () => store.list({ userId: 'u7', page: { limit: 2, cursor: mine.next! } }));
    // The recovery pass: stale pending bookings, release debts.
    await as('abandonStalePending', () => store.abandonStalePending(3_600_000, 100));
    await as('findOwedReleases', () => store.findOwedReleases(10_000, 100));
    // The reconciler: owners of held reservations, confirmed bookings a page at a time, a repair.
    await as('findMany', () => store.findMany([fresh.id, failing.id, randomUUID()]));
    const page = await as('confirmedPage', () => store.confirmedPage(undefined, 60_000, 100));
    const last = page[page.length - 1]!;
    await as('confirmedPage (next page)', () => store.confirmedPage({ confirmedAt: last.confirmedAt, id: last.id }, 60_000, 100));
    await as('repairConfirmed', () => store.repairConfirmed(last.id, last.attempt, async () => false));
    await as('walkStep', () => store.walkStep('indexes-it', async () => ({ position: { at: 1 }, result: undefined })));

    const callers = new Set(statements.map((s) => s.caller));
    for (const method of [
      'insertPending',
      'markConfirmed',
      'abandonStalePending',
      'findOwedReleases',
      'confirmedPage (next page)',
      'repairConfirmed',
    ]) {
      expect(callers).toContain(method);
    }
    await expectIndexed(bookingDb.sql, statements, 20);
  });
});

describe('inventory’s statements are served by indexes', () => {
  it('on the request path (rooms, availability, reserve, release), in reports and in the reconciler’s reads', async () => {
    const { pool, statements, as } = capturing(inventoryDb.url);
    const store = new PostgresInventoryStore(pool);
    const nights = ['2030-03-01', '2030-03-02'];
    const rooms = await as('listRooms', () => store.listRooms({ limit: 2 }));
    await as('listRooms (next page)', () => store.listRooms({ limit: 2, cursor: rooms.next! }));
    await as('getRoom', () => store.getRoom(7));
    await as('getAvailability', () => store.getAvailability(7, '2030-03-01', '2030-03-31'));
    await as('createRoom', () => store.createRoom({ name: 'new', type: 't', total_quantity: 1 }, '2030-03-01', 30));
    const booking = randomUUID();
    await as('reserve', () => store.reserve(booking, 1, 7, nights));
    await as('reserve (again)', () => store.reserve(booking, 1, 7, nights));
    await as('release', () => store.release(booking, 1, 7, nights));
    await as('release (tombstone)', () => store.release(randomUUID(), 2, 7, nights));
    await pool`UPDATE room_nights SET available = 0 WHERE room_id = 8 AND night = ${nights[1]!}`;
    await as('reserve (sold out)', () => store.reserve(randomUUID(), 1, 8, nights).catch(() => undefined));
    await as('reserve (no room)', () => store.reserve(randomUUID(), 1, 987_654, nights).catch(() => undefined));
    await as('occupancy', () => store.occupancy('2030-03-01', '2030-03-08'));
    await as('searchRooms', () => store.searchRooms('2030-03-01', '2030-03-08', 1));
    const held = await as('heldReservations', () => store.heldReservations(undefined, 60_000, 100));
    const last = held[held.length - 1]!;
    await as('heldReservations (next page)', () =>
      store.heldReservations({ reserved_at: last.reserved_at, booking_id: last.booking_id, attempt: last.attempt }, 60_000, 100),
    );
    await as('heldAmong', () => store.heldAmong(held.slice(0, 20).map(({ booking_id, attempt }) => ({ booking_id, attempt }))));

    const callers = new Set(statements.map((s) => s.caller));
    for (const method of ['reserve', 'release', 'heldReservations (next page)', 'heldAmong', 'getAvailability'])
      expect(callers).toContain(method);
    await expectIndexed(inventoryDb.sql, statements, 15);
  });

  it('reports read only the window’s nights (an index bound on night), not every night on sale', async () => {
    const { pool, statements, as } = capturing(inventoryDb.url);
    const store = new PostgresInventoryStore(pool);
    await as('occupancy', () => store.occupancy('2030-03-01', '2030-03-08'));
    await as('searchRooms', () => store.searchRooms('2030-03-01', '2030-03-04', 1));
    const reports = statements.filter((s) => /room_nights/.test(s.query));
    expect(reports.map((s) => s.caller)).toEqual(['occupancy', 'searchRooms']);
    for (const statement of reports) {
      // The planner left free: without an index led by night, a year of nights for every room is
      // read (a sequential scan, or the whole primary key) to find a week's.
      const plan = await explainGeneric(inventoryDb.sql, statement, true);
      expect(plan, `${statement.caller}:\n${plan}`).toMatch(
        /(Bitmap Index Scan on|Index Scan using|Index Only Scan using) room_nights_by_night[^\n]*\n\s*Index Cond: \(\(night >= /,
      );
      expect(plan, `${statement.caller}:\n${plan}`).not.toMatch(/Seq Scan on room_nights/);
    }
  });
});
