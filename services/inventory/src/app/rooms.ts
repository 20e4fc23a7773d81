import type { CreateRoomBody, NightAvailability, Page, PageRequest, Room } from '@cupo/contracts';
import type { InventoryDeps } from './ports.js';

/** Rooms by id, one page at a time. */
export function listRooms(deps: Pick<InventoryDeps, 'store'>, page: PageRequest): Promise<Page<Room>> {
  return deps.store.listRooms(page);
}

/** One room; RoomNotFoundError when there is none. */
export function getRoom(deps: Pick<InventoryDeps, 'store'>, roomId: number): Promise<Room> {
  return deps.store.getRoom(roomId);
}

/** A new room with `open_days` nights on sale from today (UTC), every unit free. */
export function createRoom(deps: InventoryDeps, body: CreateRoomBody): Promise<Room> {
  const { name, type, total_quantity } = body;
  return deps.store.createRoom({ name, type, total_quantity }, deps.clock.today(), body.open_days);
}

/** Each night of [from, to): what is on sale and what is left (nights not on sale read 0 of 0). */
export function getAvailability(
  deps: Pick<InventoryDeps, 'store'>,
  query: { room_id: number; from: string; to: string },
): Promise<NightAvailability[]> {
  return deps.store.getAvailability(query.room_id, query.from, query.to);
}
