import { DomainError } from '@cupo/errors';
import { z } from 'zod';
import { IsoDate, MAX_NIGHTS, daysBetween } from './dates.js';
import { PageRequest, pageOf } from './pages.js';
import { rpcCommand } from './rpc.js';
import { safeText } from './text.js';

/** Rooms and nightly availability: the inventory service's HTTP shapes and RPC commands. */

export const RoomId = z.coerce.number().int().positive().max(2_147_483_647);

export const MAX_ROOM_NAME = 200;
export const MAX_ROOM_TYPE = 100;

export const Room = z.object({
  id: z.number().int(),
  name: z.string().max(MAX_ROOM_NAME),
  type: z.string().max(MAX_ROOM_TYPE),
  total_quantity: z.number().int(),
});
export type Room = z.infer<typeof Room>;

export const NightAvailability = z.object({
  date: IsoDate,
  total: z.number().int(),
  available: z.number().int(),
});
export type NightAvailability = z.infer<typeof NightAvailability>;

/** Longest window one availability query may ask for. */
export const MAX_AVAILABILITY_WINDOW_DAYS = 366;

export const AvailabilityQuery = z.object({ from: IsoDate, to: IsoDate }).superRefine((q, ctx) => {
  const days = daysBetween(q.from, q.to);
  if (days < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  if (days > MAX_AVAILABILITY_WINDOW_DAYS)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `the window may span at most ${MAX_AVAILABILITY_WINDOW_DAYS} days`,
    });
});

export const CreateRoomBody = z.strictObject({
  name: safeText(MAX_ROOM_NAME),
  type: safeText(MAX_ROOM_TYPE),
  total_quantity: z.number().int().min(1).max(10_000),
  open_days: z.number().int().min(1).max(730),
});
export type CreateRoomBody = z.infer<typeof CreateRoomBody>;

// --- RPC commands served by inventory -------------------------------------------------

export const ListRoomsCommand = z.object({ page: PageRequest });
export const GetRoomCommand = z.object({ room_id: z.number().int().positive().max(2_147_483_647) });
export const GetAvailabilityCommand = z.object({
  room_id: z.number().int().positive().max(2_147_483_647),
  from: IsoDate,
  to: IsoDate,
});

/**
 * Reserve (or release) one unit of every listed night of a room for one attempt of a
 * booking (a booking retried after a failed attempt reserves again under the next number).
 */
export const NightsCommand = z.object({
  booking_id: z.uuid(),
  attempt: z.number().int().positive().default(1),
  room_id: z.number().int().positive().max(2_147_483_647),
  nights: z.array(IsoDate).min(1).max(MAX_NIGHTS),
});
export type NightsCommand = z.input<typeof NightsCommand>;

export const ReservationKey = z.object({ booking_id: z.uuid(), attempt: z.number().int().positive() });
export type ReservationKey = z.infer<typeof ReservationKey>;

export const HeldReservation = ReservationKey.extend({
  room_id: z.number().int(),
  nights: z.array(IsoDate),
  reserved_at: z.string(),
});
export type HeldReservation = z.infer<typeof HeldReservation>;

export const HeldReservationsCommand = z.object({
  after: ReservationKey.extend({ reserved_at: z.string() }).optional(),
  older_than_ms: z.number().int().min(0),
  limit: z.number().int().min(1).max(1_000),
});
export type HeldReservationsCommand = z.infer<typeof HeldReservationsCommand>;

export const HeldAmongCommand = z.object({ keys: z.array(ReservationKey).max(1_000) });
export type HeldAmongCommand = z.infer<typeof HeldAmongCommand>;

export const NightsResult = z.object({
  booking_id: z.uuid(),
  status: z.enum(['reserved', 'released']),
});
export type NightsResult = z.infer<typeof NightsResult>;

// v2: answers one page ({items, next}) instead of every room.
export const ListRooms = rpcCommand('inventory.rooms.list.v2', ListRoomsCommand, pageOf(Room));
export const GetRoom = rpcCommand('inventory.rooms.get.v1', GetRoomCommand, Room);
export const CreateRoom = rpcCommand('inventory.rooms.create.v1', CreateRoomBody, Room);
export const GetAvailability = rpcCommand('inventory.availability.get.v1', GetAvailabilityCommand, z.array(NightAvailability));
export const ReserveNights = rpcCommand('inventory.nights.reserve.v1', NightsCommand, NightsResult);
export const ReleaseNights = rpcCommand('inventory.nights.release.v1', NightsCommand, NightsResult);
/** The reconciler's reads: reservations holding nights, page by page, and a membership check. */
export const ListHeldReservations = rpcCommand('inventory.reservations.held.v1', HeldReservationsCommand, z.array(HeldReservation));
export const FindHeldAmong = rpcCommand('inventory.reservations.held-among.v1', HeldAmongCommand, z.array(ReservationKey));

/**
 * ROOM_UNAVAILABLE: some night of the stay has no room left. Inventory refuses a reservation
 * with it and booking answers it when inventory's reply names the sold-out nights: one
 * message and one `details` shape on both sides of the reserve command.
 */
export class RoomUnavailableError extends DomainError {
  constructor(roomId: number, nights: string[]) {
    super('conflict', 'ROOM_UNAVAILABLE', `Room ${roomId} has no availability left for ${nights.join(', ')}`, { room_id: roomId, nights });
  }
}
