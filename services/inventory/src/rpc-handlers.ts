import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import {
  CreateRoomBody,
  GetAvailabilityCommand,
  GetRoomCommand,
  HeldAmongCommand,
  HeldReservationsCommand,
  InventoryCommands,
  ListRoomsCommand,
  NightsCommand,
  OccupancyCommand,
  ReportCommands,
  RoomSearchCommand,
  todayUtc,
  type NightsResult,
} from '@cupo/contracts';
import type { InventoryStore } from './inventory-store.js';

/** The commands inventory answers, one entry each: this file is inventory's whole API. */
export function inventoryHandlers(store: InventoryStore): Record<string, RpcHandler> {
  return {
    [InventoryCommands.listRooms]: rpcHandler(ListRoomsCommand, ({ page }) => store.listRooms(page)),

    [InventoryCommands.getRoom]: rpcHandler(GetRoomCommand, ({ room_id }) =>
      store.getRoom(room_id),
    ),

    [InventoryCommands.createRoom]: rpcHandler(CreateRoomBody, (room) =>
      store.createRoom(room, todayUtc(), room.open_days),
    ),

    [InventoryCommands.getAvailability]: rpcHandler(GetAvailabilityCommand, (query) =>
      store.getAvailability(query.room_id, query.from, query.to),
    ),

    [ReportCommands.occupancy]: rpcHandler(OccupancyCommand, (query) => store.occupancy(query.from, query.to)),

    [ReportCommands.roomSearch]: rpcHandler(RoomSearchCommand, (query) =>
      store.searchRooms(query.from, query.to, query.min_available),
    ),

    [InventoryCommands.reserveNights]: rpcHandler(
      NightsCommand,
      async (command): Promise<NightsResult> => ({
        booking_id: command.booking_id,
        status: await store.reserve(command.booking_id, command.attempt, command.room_id, command.nights),
      }),
    ),

    [InventoryCommands.releaseNights]: rpcHandler(
      NightsCommand,
      async (command): Promise<NightsResult> => ({
        booking_id: command.booking_id,
        status: await store.release(command.booking_id, command.attempt, command.room_id, command.nights),
      }),
    ),

    [InventoryCommands.heldReservations]: rpcHandler(HeldReservationsCommand, (command) =>
      store.heldReservations(command.after, command.older_than_ms, command.limit),
    ),

    [InventoryCommands.heldAmong]: rpcHandler(HeldAmongCommand, (command) => store.heldAmong(command.keys)),
  };
}
