import { addDays } from '@cupo/contracts';
import { ReservationReleasedError, RoomNotFoundError, RoomUnavailableError } from '../../domain/errors.js';
import { reservationKey } from '../../domain/reservation-key.js';
import type {
  AttemptKey,
  HeldReservation,
  InventoryStore,
  NightAvailability,
  OccupancyRow,
  Page,
  PageRequest,
  ReservationCursor,
  Room,
  RoomSearchRow,
} from '../ports.js';

/**
 * Inventory's store in memory, for the use-case tests (not shipped: tsconfig excludes
 * testing/). It keeps the PostgreSQL store's guarantees: all nights or none, one reservation
 * per booking attempt (a redelivered reserve changes nothing), a release leaves a tombstone
 * that refuses a late reserve of that attempt.
 */
export class InMemoryInventoryStore implements InventoryStore {
  readonly rooms = new Map<number, Room>();
  /** `${roomId}|${night}` → units on sale and left. */
  readonly nights = new Map<string, { total: number; available: number }>();
  readonly reservations = new Map<
    string,
    { booking_id: string; attempt: number; room_id: number; nights: string[]; status: 'reserved' | 'released'; reserved_at: string }
  >();
  readonly calls: string[] = [];
  private nextId = 1;

  private async enter(method: string) {
    this.calls.push(method);
    await Promise.resolve();
  }

  async listRooms(page: PageRequest): Promise<Page<Room>> {
    await this.enter('listRooms');
    const after = page.cursor ? Number(page.cursor) : 0;
    const rooms = [...this.rooms.values()].filter((room) => room.id > after).sort((a, b) => a.id - b.id);
    const items = rooms.slice(0, page.limit);
    return rooms.length > page.limit ? { items, next: String(items[items.length - 1]!.id) } : { items };
  }

  async getRoom(roomId: number): Promise<Room> {
    await this.enter('getRoom');
    const room = this.rooms.get(roomId);
    if (!room) throw new RoomNotFoundError(roomId);
    return { ...room };
  }

  async createRoom(room: Omit<Room, 'id'>, firstNight: string, openDays: number): Promise<Room> {
    await this.enter('createRoom');
    const created = { ...room, id: this.nextId++ };
    this.rooms.set(created.id, created);
    for (let i = 0; i < openDays; i += 1) {
      this.nights.set(`${created.id}|${addDays(firstNight, i)}`, { total: room.total_quantity, available: room.total_quantity });
    }
    return { ...created };
  }

  async getAvailability(roomId: number, from: string, to: string): Promise<NightAvailability[]> {
    await this.enter('getAvailability');
    if (!this.rooms.has(roomId)) throw new RoomNotFoundError(roomId);
    const result: NightAvailability[] = [];
    for (let date = from; date < to; date = addDays(date, 1)) {
      const night = this.nights.get(`${roomId}|${date}`);
      result.push({ date, total: night?.total ?? 0, available: night?.available ?? 0 });
    }
    return result;
  }

  async occupancy(from: string, to: string): Promise<OccupancyRow[]> {
    await this.enter('occupancy');
    return [...this.rooms.values()].map((room) => {
      let roomNights = 0;
      let sold = 0;
      for (let date = from; date < to; date = addDays(date, 1)) {
        const night = this.nights.get(`${room.id}|${date}`);
        roomNights += night?.total ?? 0;
        sold += night ? night.total - night.available : 0;
      }
      return {
        room_id: room.id,
        name: room.name,
        type: room.type,
        room_nights: roomNights,
        sold,
        occupancy: roomNights ? sold / roomNights : 0,
      };
    });
  }

  async searchRooms(from: string, to: string, minAvailable: number): Promise<RoomSearchRow[]> {
    await this.enter('searchRooms');
    const rows: RoomSearchRow[] = [];
    for (const room of this.rooms.values()) {
      let min = Infinity;
      for (let date = from; date < to; date = addDays(date, 1)) min = Math.min(min, this.nights.get(`${room.id}|${date}`)?.available ?? -1);
      if (min >= minAvailable) rows.push({ room_id: room.id, name: room.name, type: room.type, min_available: min });
    }
    return rows.sort((a, b) => b.min_available - a.min_available || a.room_id - b.room_id);
  }

  async reserve(bookingId: string, attempt: number, roomId: number, nights: string[]): Promise<'reserved'> {
    await this.enter('reserve');
    const key = reservationKey(bookingId, attempt);
    const existing = this.reservations.get(key);
    if (existing?.status === 'reserved') return 'reserved';
    if (existing) throw new ReservationReleasedError(bookingId);
    if (!this.rooms.has(roomId)) throw new RoomNotFoundError(roomId);
    const soldOut = nights.filter((night) => (this.nights.get(`${roomId}|${night}`)?.available ?? 0) < 1);
    if (soldOut.length > 0) throw new RoomUnavailableError(roomId, soldOut);
    for (const night of nights) this.nights.get(`${roomId}|${night}`)!.available -= 1;
    this.reservations.set(key, {
      booking_id: bookingId,
      attempt,
      room_id: roomId,
      nights,
      status: 'reserved',
      reserved_at: new Date().toISOString(),
    });
    return 'reserved';
  }

  async release(bookingId: string, attempt: number, roomId: number, nights: string[]): Promise<'released'> {
    await this.enter('release');
    const key = reservationKey(bookingId, attempt);
    const existing = this.reservations.get(key);
    if (!existing) {
      this.reservations.set(key, { booking_id: bookingId, attempt, room_id: roomId, nights, status: 'released', reserved_at: '' });
    } else if (existing.status === 'reserved') {
      for (const night of existing.nights) this.nights.get(`${existing.room_id}|${night}`)!.available += 1;
      existing.status = 'released';
    }
    return 'released';
  }

  async heldReservations(after: ReservationCursor | undefined, _olderThanMs: number, limit: number): Promise<HeldReservation[]> {
    await this.enter('heldReservations');
    const order = (r: { reserved_at: string; booking_id: string; attempt: number }) => `${r.reserved_at}|${r.booking_id}|${r.attempt}`;
    return [...this.reservations.values()]
      .filter((r) => r.status === 'reserved' && (!after || order(r) > order(after)))
      .sort((a, b) => (order(a) < order(b) ? -1 : 1))
      .slice(0, limit)
      .map(({ status: _s, ...held }) => held);
  }

  async heldAmong(keys: AttemptKey[]): Promise<AttemptKey[]> {
    await this.enter('heldAmong');
    return keys.filter((key) => this.reservations.get(reservationKey(key.booking_id, key.attempt))?.status === 'reserved');
  }
}
