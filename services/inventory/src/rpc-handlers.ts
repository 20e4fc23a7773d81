import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import {
  CreateRoom,
  FindHeldAmong,
  GetAvailability,
  GetRoom,
  ListHeldReservations,
  ListRooms,
  OccupancyReport,
  ReleaseNights,
  ReserveNights,
  RoomSearchReport,
  todayUtc,
} from '@cupo/contracts';
import type { InventoryStore } from './inventory-store.js';

/** The commands inventory answers, one entry each: this file is inventory's whole API. */
export function inventoryHandlers(store: InventoryStore): RpcHandler[] {
  return [
    rpcHandler(ListRooms, ({ page }) => store.listRooms(page)),

    rpcHandler(GetRoom, ({ room_id }) =>
      store.getRoom(room_id),
    ),

    rpcHandler(CreateRoom, (room) =>
      store.createRoom(room, todayUtc(), room.open_days),
    ),

    rpcHandler(GetAvailability, (query) =>
      store.getAvailability(query.room_id, query.from, query.to),
    ),

    rpcHandler(OccupancyReport, (query) => store.occupancy(query.from, query.to)),

    rpcHandler(RoomSearchReport, (query) =>
      store.searchRooms(query.from, query.to, query.min_available),
    ),

    rpcHandler(ReserveNights, async (command) => ({
      booking_id: command.booking_id,
      status: await store.reserve(command.booking_id, command.attempt, command.room_id, command.nights),
    })),

    rpcHandler(ReleaseNights, async (command) => ({
      booking_id: command.booking_id,
      status: await store.release(command.booking_id, command.attempt, command.room_id, command.nights),
    })),

    rpcHandler(ListHeldReservations, (command) =>
      store.heldReservations(command.after, command.older_than_ms, command.limit),
    ),

    rpcHandler(FindHeldAmong, (command) => store.heldAmong(command.keys)),
  ];
}
