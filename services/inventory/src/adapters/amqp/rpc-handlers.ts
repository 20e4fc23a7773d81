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
} from '@cupo/contracts';
import type { InventoryDeps } from '../../app/ports.js';
import { occupancyReport, roomSearchReport } from '../../app/reports.js';
import { findHeldAmong, listHeldReservations, releaseNights, reserveNights } from '../../app/reservations.js';
import { createRoom, getAvailability, getRoom, listRooms } from '../../app/rooms.js';

/** The commands inventory answers, one entry each: this file is inventory's whole API. */
export function rpcHandlers(deps: InventoryDeps): RpcHandler[] {
  return [
    rpcHandler(ListRooms, ({ page }) => listRooms(deps, page)),
    rpcHandler(GetRoom, ({ room_id }) => getRoom(deps, room_id)),
    rpcHandler(CreateRoom, (body) => createRoom(deps, body)),
    rpcHandler(GetAvailability, (query) => getAvailability(deps, query)),
    rpcHandler(OccupancyReport, (query) => occupancyReport(deps, query)),
    rpcHandler(RoomSearchReport, (query) => roomSearchReport(deps, query)),
    rpcHandler(ReserveNights, (command) => reserveNights(deps, command)),
    rpcHandler(ReleaseNights, (command) => releaseNights(deps, command)),
    rpcHandler(ListHeldReservations, (command) => listHeldReservations(deps, command)),
    rpcHandler(FindHeldAmong, (command) => findHeldAmong(deps, command.keys)),
  ];
}
