import type { Page, PageRequest } from '@cupo/contracts';
import { RpcTimeoutError } from '@cupo/amqp';
import { fromErrorBody } from '@cupo/errors';
import type { Booking } from '../../domain/booking.js';
import { RoomUnavailableError } from '../../domain/errors.js';
import type {
  BookingMetrics,
  BookingStore,
  ConfirmedCursor,
  HeldReservation,
  Inventory,
  Logger,
  NewBooking,
  ReservationKey,
} from '../ports.js';

/**
 * In-memory fakes of booking's ports for the use-case tests (not shipped: tsconfig excludes
 * testing/). Each keeps the guarantee its real adapter gives — guarded transitions, one
 * reservation per booking attempt, idempotent release with a tombstone — and yields on every
 * call, as a database or broker call would, so races between callers can interleave.
 */

const tick = () => Promise.resolve();

/** A booking row with the store's bookkeeping times. */
export interface StoredBooking extends Booking {
  updatedAt: number;
  confirmedAt: string | null;
}

export function aBooking(overrides: Partial<StoredBooking> = {}): StoredBooking {
  return {
    id: 'b-1',
    userId: 'alice',
    roomId: 7,
    checkIn: '2030-05-01',
    checkOut: '2030-05-03',
    nights: 2,
    status: 'confirmed',
    attempt: 1,
    attemptId: 'request-1',
    failureCode: null,
    releaseOwed: false,
    createdAt: new Date('2030-01-01T00:00:00Z'),
    cancelledAt: null,
    updatedAt: Date.now(),
    confirmedAt: '2030-01-01T00:00:00.000000Z',
    ...overrides,
  };
}

const view = (row: StoredBooking): Booking => {
  const { updatedAt: _u, confirmedAt: _c, ...booking } = row;
  return { ...booking };
};

export class InMemoryBookingStore implements BookingStore {
  readonly rows = new Map<string, StoredBooking>();
  readonly cursors = new Map<string, unknown>();
  /** Walks another replica is running now (walkStep leaves them alone). */
  readonly busyWalks = new Set<string>();
  /** Every call, by method name: what a use case asked of the database. */
  readonly calls: string[] = [];
  /** The clock the store's `now()` reads (ms). */
  now = () => Date.now();

  add(row: StoredBooking): void {
    this.rows.set(row.id, { ...row });
  }

  private async enter(method: string): Promise<void> {
    this.calls.push(method);
    await tick();
  }

  private put(row: StoredBooking): Booking {
    const stored = { ...row, updatedAt: this.now() };
    this.rows.set(row.id, stored);
    return view(stored);
  }

  async find(id: string) {
    await this.enter('find');
    const row = this.rows.get(id);
    return row && view(row);
  }

  async insertPending(b: NewBooking) {
    await this.enter('insertPending');
    const row = this.rows.get(b.id);
    if (row) return view(row);
    return this.put(aBooking({ ...b, status: 'pending', attempt: 1, failureCode: null, confirmedAt: null, createdAt: new Date() }));
  }

  async recordRefusal(b: NewBooking, code: string) {
    await this.enter('recordRefusal');
    const row = this.rows.get(b.id);
    if (!row) return this.put(aBooking({ ...b, status: 'failed', attempt: 1, failureCode: code, confirmedAt: null }));
    if (row.status !== 'failed' || row.releaseOwed) return view(row);
    return this.put({ ...row, failureCode: code, attemptId: b.attemptId });
  }

  async restartFailed(id: string, attemptId: string) {
    await this.enter('restartFailed');
    const row = this.rows.get(id);
    if (!row || row.status !== 'failed' || row.releaseOwed) return undefined;
    return this.put({ ...row, status: 'pending', attempt: row.attempt + 1, attemptId, failureCode: null });
  }

  async markConfirmed(id: string, attempt: number) {
    await this.enter('markConfirmed');
    const row = this.rows.get(id);
    if (row?.status !== 'pending' || row.attempt !== attempt) return undefined;
    return this.put({ ...row, status: 'confirmed', confirmedAt: new Date(this.now()).toISOString() });
  }

  async discardPending(id: string) {
    await this.enter('discardPending');
    const row = this.rows.get(id);
    if (row?.status === 'pending' && row.attempt === 1) this.rows.delete(id);
  }

  async markFailed(id: string, attempt: number, code: string, releaseOwed: boolean) {
    await this.enter('markFailed');
    const row = this.rows.get(id);
    if (row?.status !== 'pending' || row.attempt !== attempt) return undefined;
    return this.put({ ...row, status: 'failed', failureCode: code, releaseOwed });
  }

  async markCancelled(id: string) {
    await this.enter('markCancelled');
    const row = this.rows.get(id);
    if (row?.status !== 'confirmed') return undefined;
    return this.put({ ...row, status: 'cancelled', releaseOwed: true, cancelledAt: new Date(this.now()) });
  }

  async settleRelease(id: string, attempt: number) {
    await this.enter('settleRelease');
    const row = this.rows.get(id);
    if (row && row.attempt === attempt) this.put({ ...row, releaseOwed: false });
  }

  async list(filter: { userId?: string; page: PageRequest }): Promise<Page<Booking>> {
    await this.enter('list');
    const rows = [...this.rows.values()]
      .filter((row) => row.status !== 'failed' && (filter.userId === undefined || row.userId === filter.userId))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    const items = rows.slice(0, filter.page.limit).map(view);
    return rows.length > filter.page.limit ? { items, next: 'more' } : { items };
  }

  async abandonStalePending(staleMs: number, limit: number) {
    await this.enter('abandonStalePending');
    const stale = [...this.rows.values()]
      .filter((row) => row.status === 'pending' && row.updatedAt < this.now() - staleMs)
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .slice(0, limit);
    return stale.map((row) => this.put({ ...row, status: 'failed', failureCode: 'ABANDONED', releaseOwed: true }));
  }

  async findOwedReleases(graceMs: number, limit: number) {
    await this.enter('findOwedReleases');
    return [...this.rows.values()]
      .filter((row) => row.releaseOwed && row.updatedAt < this.now() - graceMs)
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .slice(0, limit)
      .map(view);
  }

  async findMany(ids: string[]) {
    await this.enter('findMany');
    return ids.flatMap((id) => {
      const row = this.rows.get(id);
      return row ? [view(row)] : [];
    });
  }

  async confirmedPage(after: ConfirmedCursor | undefined, _olderThanMs: number, limit: number) {
    await this.enter('confirmedPage');
    const key = (row: { confirmedAt: string; id: string }) => `${row.confirmedAt}|${row.id}`;
    return [...this.rows.values()]
      .filter((row): row is StoredBooking & { confirmedAt: string } => row.status === 'confirmed' && row.confirmedAt !== null)
      .filter((row) => !after || key(row) > key(after))
      .sort((a, b) => (key(a) < key(b) ? -1 : 1))
      .slice(0, limit)
      .map((row) => ({ ...view(row), confirmedAt: row.confirmedAt }));
  }

  async repairConfirmed(id: string, attempt: number, repair: () => Promise<boolean>) {
    await this.enter('repairConfirmed');
    const row = this.rows.get(id);
    if (row?.status !== 'confirmed' || row.attempt !== attempt) return undefined;
    if (await repair()) return 'restored' as const;
    this.put({ ...row, status: 'cancelled', failureCode: 'NIGHTS_LOST', cancelledAt: new Date(this.now()) });
    return 'cancelled' as const;
  }

  async walkStep<P, T>(walk: string, step: (position: P | undefined) => Promise<{ position: P | undefined; result: T }>) {
    await this.enter(`walkStep:${walk}`);
    if (this.busyWalks.has(walk)) return undefined;
    this.busyWalks.add(walk);
    try {
      const done = await step(this.cursors.get(walk) as P | undefined);
      this.cursors.set(walk, done.position);
      return done.result;
    } finally {
      this.busyWalks.delete(walk);
    }
  }
}

/** Inventory as booking sees it: nights per date for one room, one reservation per booking attempt. */
export class InMemoryInventory implements Inventory {
  readonly available = new Map<string, number>();
  readonly reservations = new Map<string, { state: 'reserved' | 'released'; roomId: number; nights: string[]; reservedAt: string }>();
  readonly calls: string[] = [];
  /** When set, every call fails as a timed-out RPC would. */
  down = false;

  open(nights: string[], units: number): void {
    for (const night of nights) this.available.set(night, units);
  }

  held(bookingId: string, attempt: number): boolean {
    return this.reservations.get(`${bookingId}/${attempt}`)?.state === 'reserved';
  }

  private async enter(method: string): Promise<void> {
    this.calls.push(method);
    await tick();
    if (this.down) throw new RpcTimeoutError(`inventory ${method}`, 3_000);
  }

  async availability(_roomId: number, nights: string[]) {
    await this.enter('availability');
    return nights.map((date) => ({ date, total: 1, available: this.available.get(date) ?? 0 }));
  }

  async reserve(key: ReservationKey, roomId: number, nights: string[]) {
    await this.enter('reserve');
    const id = `${key.bookingId}/${key.attempt}`;
    const existing = this.reservations.get(id);
    if (existing?.state === 'reserved') return;
    if (existing) throw fromErrorBody({ kind: 'conflict', code: 'RESERVATION_RELEASED', detail: 'released already' });
    const soldOut = nights.filter((night) => (this.available.get(night) ?? 0) < 1);
    if (soldOut.length > 0) throw new RoomUnavailableError(roomId, soldOut);
    for (const night of nights) this.available.set(night, this.available.get(night)! - 1);
    this.reservations.set(id, { state: 'reserved', roomId, nights, reservedAt: new Date().toISOString() });
  }

  async release(key: ReservationKey, roomId: number, nights: string[]) {
    await this.enter('release');
    const id = `${key.bookingId}/${key.attempt}`;
    const existing = this.reservations.get(id);
    if (existing?.state === 'reserved') {
      for (const night of existing.nights) this.available.set(night, this.available.get(night)! + 1);
    }
    this.reservations.set(id, { state: 'released', roomId, nights: existing?.nights ?? nights, reservedAt: existing?.reservedAt ?? '' });
  }

  async heldReservations(after: HeldReservation | undefined, _olderThanMs: number, limit: number) {
    await this.enter('heldReservations');
    const order = (r: { reservedAt: string; bookingId: string; attempt: number }) => `${r.reservedAt}|${r.bookingId}|${r.attempt}`;
    return [...this.reservations.entries()]
      .filter(([, r]) => r.state === 'reserved')
      .map(([id, r]) => {
        const [bookingId, attempt] = id.split('/');
        return { bookingId: bookingId!, attempt: Number(attempt), roomId: r.roomId, nights: r.nights, reservedAt: r.reservedAt };
      })
      .filter((r) => !after || order(r) > order(after))
      .sort((a, b) => (order(a) < order(b) ? -1 : 1))
      .slice(0, limit);
  }

  async heldAmong(keys: ReservationKey[]) {
    await this.enter('heldAmong');
    return keys.filter((key) => this.held(key.bookingId, key.attempt));
  }
}

export function recordingMetrics() {
  const outcomes: string[] = [];
  const recovered: string[] = [];
  const reconciled: string[] = [];
  const metrics: BookingMetrics = {
    outcome: (outcome) => outcomes.push(outcome),
    recovered: (kind) => recovered.push(kind),
    reconciled: (kind, action) => reconciled.push(`${kind}:${action}`),
  };
  return { metrics, outcomes, recovered, reconciled };
}

export function recordingLogger() {
  const lines: { level: string; message: string; fields: object }[] = [];
  const log = (level: string) => (fields: object, message: string) => void lines.push({ level, message, fields });
  const logger: Logger = { info: log('info'), warn: log('warn'), error: log('error') };
  return { logger, lines };
}
