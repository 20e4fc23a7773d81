import { RpcTimeoutError } from '@cupo/amqp';
import { DependencyUnavailableError, fromErrorBody } from '@cupo/errors';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Booking } from '../domain/booking.js';
import { LockTimeoutError, RoomUnavailableError } from '../domain/errors.js';
import { confirmBooking, type ConfirmBookingCommand } from './confirm-booking.js';
import { InMemoryBookingStore, recordingMetrics } from './testing/in-memory.js';
import type { BookingDeps, BookingStore, CallContext, HeldLock, Inventory, NewBooking, ReservationKey, RoomNightLocks } from './ports.js';

/**
 * confirmBooking against in-memory fakes of its ports: each fake keeps the guarantee its
 * real adapter gives (guarded state changes, idempotent reserve per attempt, locks that make
 * later holders wait), so the use case's branches can be driven one by one.
 */

class FakeBookings implements Partial<BookingStore> {
  rows = new Map<string, Booking>();
  /** Called after each change: lets a test act "meanwhile". */
  onChange: (booking: Booking) => void = () => undefined;

  private put(booking: Booking): Booking {
    this.rows.set(booking.id, { ...booking });
    this.onChange(booking);
    return { ...booking };
  }

  async find(id: string) {
    const row = this.rows.get(id);
    return row && { ...row };
  }
  async insertPending(b: NewBooking) {
    const row = this.rows.get(b.id);
    if (row) return { ...row };
    return this.put({
      ...b,
      status: 'pending',
      attempt: 1,
      failureCode: null,
      releaseOwed: false,
      createdAt: new Date(),
      cancelledAt: null,
    });
  }
  async recordRefusal(b: NewBooking, code: string) {
    const row = this.rows.get(b.id);
    if (!row)
      return this.put({
        ...b,
        status: 'failed',
        attempt: 1,
        failureCode: code,
        releaseOwed: false,
        createdAt: new Date(),
        cancelledAt: null,
      });
    if (row.status !== 'failed' || row.releaseOwed) return { ...row };
    return this.put({ ...row, failureCode: code, attemptId: b.attemptId });
  }
  async restartFailed(id: string, attemptId: string) {
    const row = this.rows.get(id);
    if (!row || row.status !== 'failed' || row.releaseOwed) return undefined;
    return this.put({ ...row, status: 'pending', attempt: row.attempt + 1, attemptId, failureCode: null });
  }
  async markConfirmed(id: string, attempt: number) {
    const row = this.rows.get(id);
    if (row?.status !== 'pending' || row.attempt !== attempt) return undefined;
    return this.put({ ...row, status: 'confirmed' });
  }
  async markFailed(id: string, attempt: number, code: string, releaseOwed: boolean) {
    const row = this.rows.get(id);
    if (row?.status !== 'pending' || row.attempt !== attempt) return undefined;
    return this.put({ ...row, status: 'failed', failureCode: code, releaseOwed });
  }
  async discardPending(id: string) {
    if (this.rows.get(id)?.status === 'pending') this.rows.delete(id);
  }
  async settleRelease(id: string, attempt: number) {
    const row = this.rows.get(id);
    if (row && row.attempt === attempt) this.put({ ...row, releaseOwed: false });
  }
  /** What the recovery loop does to a pending booking it judges stale. */
  abandon(id: string) {
    const row = this.rows.get(id)!;
    this.put({ ...row, status: 'failed', failureCode: 'ABANDONED', releaseOwed: true });
  }
}

class FakeInventory implements Inventory {
  available = new Map<string, number>();
  reservations = new Map<string, 'reserved' | 'released'>();
  /** When set, reserve and release fail as a timed-out RPC would. */
  down = false;
  /** When set for an attempt, its reserve takes the nights, then waits here before answering (a stalled handler). */
  stall = new Map<string, Promise<void>>();
  reserveCalls: ReservationKey[] = [];

  open(nights: string[], total: number) {
    for (const night of nights) this.available.set(night, total);
  }
  private timeout() {
    return new RpcTimeoutError('inventory.nights.reserve.v1', 3_000);
  }
  async availability(_roomId: number, nights: string[]) {
    return nights.map((date) => ({ date, total: 1, available: this.available.get(date) ?? 0 }));
  }
  async reserve(key: ReservationKey, roomId: number, nights: string[]) {
    this.reserveCalls.push(key);
    if (this.down) throw this.timeout();
    const id = `${key.bookingId}/${key.attempt}`;
    const existing = this.reservations.get(id);
    if (existing === 'reserved') return;
    // Inventory's refusal, as the RPC client hands it over.
    if (existing === 'released') throw fromErrorBody({ kind: 'conflict', code: 'RESERVATION_RELEASED', detail: 'released already' });
    const soldOut = nights.filter((night) => (this.available.get(night) ?? 0) < 1);
    if (soldOut.length > 0) throw new RoomUnavailableError(roomId, soldOut);
    for (const night of nights) this.available.set(night, this.available.get(night)! - 1);
    this.reservations.set(id, 'reserved');
    await this.stall.get(id);
  }
  async release(key: ReservationKey, _roomId: number, nights: string[]) {
    if (this.down) throw this.timeout();
    const id = `${key.bookingId}/${key.attempt}`;
    if (this.reservations.get(id) === 'reserved') {
      for (const night of nights) this.available.set(night, this.available.get(night)! + 1);
    }
    this.reservations.set(id, 'released');
  }
  async heldReservations() {
    return [];
  }
  async heldAmong() {
    return [];
  }
  held(bookingId: string, attempt: number) {
    return this.reservations.get(`${bookingId}/${attempt}`) === 'reserved';
  }
}

/** One holder per room at a time; waiters ask `keepWaiting` between polls, as redlock's adapter does. */
class FakeLocks implements RoomNightLocks {
  private holders = new Set<number>();
  /** A lock's TTL running out while its holder is stalled. */
  expire(roomId: number) {
    this.holders.delete(roomId);
  }
  async acquire(roomId: number, _nights: string[], options: { waitUntil: number; keepWaiting: () => Promise<void> }): Promise<HeldLock> {
    while (this.holders.has(roomId)) {
      if (Date.now() > options.waitUntil) throw new LockTimeoutError(roomId);
      await options.keepWaiting();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.holders.add(roomId);
    return { release: async () => void this.holders.delete(roomId) };
  }
}

const NIGHTS = ['2030-05-01', '2030-05-02'];
let bookings: FakeBookings;
let inventory: FakeInventory;
let deps: BookingDeps;
let locks: FakeLocks;
let outcomes: string[];

beforeEach(() => {
  bookings = new FakeBookings();
  inventory = new FakeInventory();
  inventory.open(NIGHTS, 1);
  outcomes = [];
  deps = {
    bookings: bookings as unknown as BookingStore,
    inventory,
    locks: (locks = new FakeLocks()),
    metrics: { outcome: (o) => outcomes.push(o), recovered: () => undefined, reconciled: () => undefined },
    clock: { today: () => '2030-01-01' },
  };
});

const context = (): CallContext => ({ requestId: 'r', deadline: Date.now() + 2_000 });
const command = (overrides: Partial<ConfirmBookingCommand> = {}): ConfirmBookingCommand => ({
  bookingId: 'b-1',
  userId: 'alice',
  roomId: 7,
  checkIn: '2030-05-01',
  checkOut: '2030-05-03',
  attemptId: 'request-1',
  ...overrides,
});
const book = (overrides: Partial<ConfirmBookingCommand> = {}) => confirmBooking(deps, command(overrides), context(), 500);

describe('confirming a booking', () => {
  it('books a free stay: pending first, then the nights, then confirmed', async () => {
    const booking = await book();
    expect(booking).toMatchObject({ status: 'confirmed', attempt: 1 });
    expect(inventory.held('b-1', 1)).toBe(true);
    expect(outcomes).toEqual(['confirmed']);
  });

  it('answers duplicates of one request running at once with the booking, not with a 409 for nights it took itself', async () => {
    const answers = await Promise.allSettled(Array.from({ length: 5 }, () => book()));
    for (const answer of answers) expect(answer).toMatchObject({ status: 'fulfilled', value: { id: 'b-1', status: 'confirmed' } });
    expect(inventory.available.get(NIGHTS[0]!)).toBe(0);
  });

  it('records a refusal: the same request is refused again even once nights free up; a client retry books', async () => {
    inventory.available.set(NIGHTS[1]!, 0);
    await expect(book()).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    expect(bookings.rows.get('b-1')).toMatchObject({ status: 'failed', failureCode: 'ROOM_UNAVAILABLE', releaseOwed: false });
    inventory.available.set(NIGHTS[1]!, 1);
    // A redelivered duplicate of that request: the same answer, nothing reserved.
    await expect(book()).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    expect(inventory.available.get(NIGHTS[0]!)).toBe(1);
    // The client asks again: a new attempt, which books.
    const retried = await book({ attemptId: 'request-2' });
    expect(retried).toMatchObject({ status: 'confirmed', attempt: 2 });
    expect(inventory.held('b-1', 2)).toBe(true);
  });

  it('makes a new attempt when a client retries a failed one, and names the cause to a duplicate of the failed request', async () => {
    inventory.down = true;
    await expect(book()).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    // The release could not be paid either: owed.
    expect(bookings.rows.get('b-1')).toMatchObject({ status: 'failed', releaseOwed: true, failureCode: 'UPSTREAM_TIMEOUT' });
    inventory.down = false;
    const duplicate = book();
    await expect(duplicate).rejects.toMatchObject({ code: 'BOOKING_ABANDONED' });
    await expect(duplicate).rejects.toThrow(/inventory did not answer in time.*retrying makes a new attempt/);
    const retried = await book({ attemptId: 'request-2' });
    expect(retried).toMatchObject({ status: 'confirmed', attempt: 2 });
    // The first attempt's nights were released before the second reserved.
    expect(inventory.reservations.get('b-1/1')).toBe('released');
    expect(inventory.available.get(NIGHTS[0]!)).toBe(0);
  });

  it('asks for a moment when the failed attempt still owes nights it cannot return yet', async () => {
    inventory.down = true;
    await expect(book()).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    await expect(book({ attemptId: 'request-2' })).rejects.toMatchObject({ code: 'BOOKING_RETRY_PENDING' });
    inventory.down = false;
    await expect(book({ attemptId: 'request-3' })).resolves.toMatchObject({ status: 'confirmed', attempt: 2 });
  });

  it('reports an attempt the recovery loop gave up while it stalled, with that cause', async () => {
    bookings.onChange = (booking) => {
      if (booking.status === 'pending') queueMicrotask(() => bookings.abandon(booking.id));
    };
    await expect(book()).rejects.toThrow(/stalled past the recovery deadline/);
    expect(outcomes).toEqual(['abandoned']);
  });

  it('replays a confirmed booking without waiting for its nights', async () => {
    await book();
    await expect(book({ attemptId: 'request-2' })).resolves.toMatchObject({ status: 'confirmed', attempt: 1 });
    expect(inventory.reserveCalls).toHaveLength(1);
  });

  it('replays an answered request while Redis is down (or its breaker open), and refuses only what is still undecided with a 503', async () => {
    await book();
    await expect(book({ bookingId: 'b-2' })).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    outcomes = [];
    deps.locks = { acquire: async () => Promise.reject(new DependencyUnavailableError('Redis (circuit open)')) };
    // The confirmed booking, asked again (a client's retry): answered from the database.
    await expect(book({ attemptId: 'request-2' })).resolves.toMatchObject({ id: 'b-1', status: 'confirmed', attempt: 1 });
    // The recorded refusal, asked again by the same request: the same 409.
    await expect(book({ bookingId: 'b-2' })).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    expect(outcomes).toEqual(['replayed', 'replayed']);
    // Every identity check still holds: another user or another stay under the id is no replay.
    await expect(book({ userId: 'bob' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(book({ checkOut: '2030-05-02' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    // Still to be decided: a new booking, and a client's retry of a failed attempt.
    await expect(book({ bookingId: 'b-4' })).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    await expect(book({ bookingId: 'b-2', attemptId: 'request-9' })).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    expect(inventory.reserveCalls).toHaveLength(2);
  });

  it('never answers for another stay under the same booking id', async () => {
    await book();
    await expect(book({ checkOut: '2030-05-02', attemptId: 'request-2' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    inventory.available.set(NIGHTS[0]!, 0);
    await expect(book({ bookingId: 'b-2' })).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE' });
    await expect(book({ bookingId: 'b-2', userId: 'bob', attemptId: 'request-3' })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('never lets a stalled handler of an earlier attempt confirm a later one (no oversell)', async () => {
    inventory.open(NIGHTS, 1);
    let resumeFirst!: () => void;
    inventory.stall.set('b-1/1', new Promise((resolve) => (resumeFirst = resolve)));
    const first = book(); // reserves attempt 1, then stalls before confirming
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The recovery loop gives it up and returns its nights; its lock runs out.
    bookings.abandon('b-1');
    await inventory.release({ bookingId: 'b-1', attempt: 1 }, 7, NIGHTS);
    await bookings.settleRelease('b-1', 1);
    locks.expire(7);
    // Someone else buys the nights; then the client retries (attempt 2), whose reserve is slow.
    await expect(book({ bookingId: 'b-2', userId: 'bob', attemptId: 'bob-1' })).resolves.toMatchObject({ status: 'confirmed' });
    let resumeSecond!: () => void;
    inventory.stall.set('b-1/2', new Promise((resolve) => (resumeSecond = resolve)));
    inventory.available.set(NIGHTS[0]!, 1); // (the stalled reserve is let through, to be refused by nobody but the model)
    inventory.available.set(NIGHTS[1]!, 1);
    const retry = book({ attemptId: 'request-2' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(bookings.rows.get('b-1')).toMatchObject({ status: 'pending', attempt: 2 });
    // The first handler wakes up now: it must not confirm attempt 2's row.
    resumeFirst();
    await expect(first).rejects.toMatchObject({ code: 'BOOKING_ABANDONED' });
    expect(bookings.rows.get('b-1')).toMatchObject({ status: 'pending', attempt: 2 });
    resumeSecond();
    await expect(retry).resolves.toMatchObject({ status: 'confirmed', attempt: 2 });
  });

  it('answers a retry that finds the stay sold out by its own unreturned attempt with "retry shortly", not 409', async () => {
    inventory.down = true;
    await expect(book()).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    inventory.down = false;
    // The first attempt's reserve did take the night (only its answer was lost), and the
    // release is still owed; another booking holds the lock meanwhile.
    inventory.available.set(NIGHTS[0]!, 0);
    const held = await locks.acquire(7, NIGHTS, { waitUntil: Date.now() + 1_000, keepWaiting: async () => undefined });
    const retried = book({ attemptId: 'request-2' }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await held.release();
    expect(await retried).toMatchObject({ code: 'BOOKING_RETRY_PENDING' });
  });

  it('replays a confirmed booking at once even while another booking holds its nights (no wait, no 409)', async () => {
    await book();
    inventory.open(NIGHTS, 1); // on sale again (as far as availability says): that check alone would wait
    const held = await locks.acquire(7, NIGHTS, { waitUntil: Date.now() + 1_000, keepWaiting: async () => undefined });
    const started = Date.now();
    await expect(book({ attemptId: 'request-2' })).resolves.toMatchObject({ status: 'confirmed', attempt: 1 });
    expect(Date.now() - started).toBeLessThan(200);
    expect(outcomes).toEqual(['confirmed', 'replayed']);
    await held.release();
  });

  it('replays a finished booking whose stay has begun since, but refuses a new one starting in the past', async () => {
    await book();
    deps.clock = { today: () => '2030-05-02' };
    await expect(book({ attemptId: 'request-2' })).resolves.toMatchObject({ status: 'confirmed' });
    await expect(book({ bookingId: 'b-2', attemptId: 'request-3' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(bookings.rows.has('b-2')).toBe(false);
  });

  it('replays a cancelled booking as cancelled, reserving nothing', async () => {
    await book();
    bookings.rows.set('b-1', { ...bookings.rows.get('b-1')!, status: 'cancelled', cancelledAt: new Date() });
    await expect(book({ attemptId: 'request-2' })).resolves.toMatchObject({ status: 'cancelled' });
    expect(inventory.reserveCalls).toHaveLength(1);
  });

  it('remembers nothing of a booking for a room that does not exist', async () => {
    inventory.reserve = async () => {
      throw fromErrorBody({ kind: 'not_found', code: 'ROOM_NOT_FOUND', detail: 'Room 7 does not exist' });
    };
    await expect(book()).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
    expect(bookings.rows.has('b-1')).toBe(false);
  });

  it('refuses, without reserving, a stay sold out by another booking while this one waited for the lock', async () => {
    const held = await locks.acquire(7, NIGHTS, { waitUntil: Date.now() + 1_000, keepWaiting: async () => undefined });
    inventory.available.set(NIGHTS[1]!, 0);
    await expect(book()).rejects.toMatchObject({ code: 'ROOM_UNAVAILABLE', details: { nights: [NIGHTS[1]] } });
    expect(inventory.reserveCalls).toEqual([]);
    expect(bookings.rows.get('b-1')).toMatchObject({ status: 'failed', failureCode: 'ROOM_UNAVAILABLE', releaseOwed: false });
    expect(outcomes).toEqual(['unavailable']);
    await held.release();
  });
});

describe('what confirming costs the booking store', () => {
  it('a fresh booking: two statements — the row written pending (read in the same statement), then confirmed', async () => {
    const store = new InMemoryBookingStore();
    const fresh = new FakeInventory();
    fresh.open(NIGHTS, 1);
    const { metrics } = recordingMetrics();
    const storeDeps: BookingDeps = {
      bookings: store,
      inventory: fresh,
      locks: new FakeLocks(),
      metrics,
      clock: { today: () => '2030-01-01' },
    };
    await expect(confirmBooking(storeDeps, command(), context(), 500)).resolves.toMatchObject({ status: 'confirmed' });
    expect(store.calls).toEqual(['insertPending', 'markConfirmed']);
    // A replay of it: the one statement (which finds the row and writes nothing).
    store.calls.length = 0;
    await confirmBooking(storeDeps, command({ attemptId: 'request-2' }), context(), 500);
    expect(store.calls).toEqual(['insertPending']);
  });
});
