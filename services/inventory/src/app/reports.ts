import type { OccupancyRow, RoomSearchRow } from '@cupo/contracts';
import type { InventoryDeps } from './ports.js';

/** The report worker's data: per room, room-nights on sale and sold over [from, to). */
export function occupancyReport(deps: Pick<InventoryDeps, 'store'>, query: { from: string; to: string }): Promise<OccupancyRow[]> {
  return deps.store.occupancy(query.from, query.to);
}

/** Rooms with at least `min_available` units free on every night of [from, to), freest first. */
export function roomSearchReport(
  deps: Pick<InventoryDeps, 'store'>,
  query: { from: string; to: string; min_available: number },
): Promise<RoomSearchRow[]> {
  return deps.store.searchRooms(query.from, query.to, query.min_available);
}
