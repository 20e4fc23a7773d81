import { z } from 'zod';
import { Actor, UserId } from './actor.js';
import { IsoDate, MAX_NIGHTS, daysBetween, todayUtc } from './dates.js';
import { PageRequest, pageOf } from './pages.js';
import { rpcCommand } from './rpc.js';

/**
 * The public body of `POST /api/bookings`. The range rules are part of the contract, so the
 * gateway rejects a bad range before anything reaches a queue; the booking domain checks
 * the same rules again for commands that arrive from elsewhere.
 */
export const BookingRequestBody = z
  .strictObject({
    room_id: z.number().int().positive().max(2_147_483_647),
    check_in: IsoDate,
    check_out: IsoDate,
  })
  .superRefine((body, ctx) => {
    const nights = daysBetween(body.check_in, body.check_out);
    if (nights < 1) ctx.addIssue({ code: 'custom', path: ['check_out'], message: 'must be after check_in' });
    else if (nights > MAX_NIGHTS)
      ctx.addIssue({
        code: 'custom',
        path: ['check_out'],
        message: `a stay may cover at most ${MAX_NIGHTS} nights`,
      });
    if (body.check_in < todayUtc()) ctx.addIssue({ code: 'custom', path: ['check_in'], message: 'must not be in the past' });
  });
export type BookingRequestBody = z.infer<typeof BookingRequestBody>;

export const BookingStatus = z.enum(['pending', 'confirmed', 'failed', 'cancelled']);
export type BookingStatus = z.infer<typeof BookingStatus>;

export const Booking = z.object({
  id: z.uuid(),
  status: BookingStatus,
  user_id: UserId,
  room_id: z.number().int(),
  check_in: IsoDate,
  check_out: IsoDate,
  nights: z.number().int(),
  created_at: z.iso.datetime({ offset: true }),
  cancelled_at: z.iso.datetime({ offset: true }).optional(),
});
export type Booking = z.infer<typeof Booking>;

export const ListBookingsQuery = z.strictObject({ user_id: UserId.optional() });

// --- RPC commands served by booking ---------------------------------------------------

export const ConfirmBookingCommand = z.object({
  booking_id: z.uuid(),
  /**
   * The client request behind the command: duplicates of one request share it; a client's
   * retry has its own. Absent from older gateways: each command is then its own request.
   */
  attempt_id: z.string().min(1).max(100).optional(),
  user_id: UserId,
  room_id: z.number().int().positive().max(2_147_483_647),
  check_in: IsoDate,
  check_out: IsoDate,
});
export type ConfirmBookingCommand = z.infer<typeof ConfirmBookingCommand>;

export const GetBookingCommand = z.object({ booking_id: z.uuid(), actor: Actor });
export const CancelBookingCommand = GetBookingCommand;
export const ListBookingsCommand = z.object({ actor: Actor, user_id: UserId.optional(), page: PageRequest });

export const ConfirmBooking = rpcCommand('booking.confirm.v1', ConfirmBookingCommand, Booking);
export const GetBooking = rpcCommand('booking.get.v1', GetBookingCommand, Booking);
// v2: answers one page ({items, next}) instead of every booking.
export const ListBookings = rpcCommand('booking.list.v2', ListBookingsCommand, pageOf(Booking));
export const CancelBooking = rpcCommand('booking.cancel.v1', CancelBookingCommand, Booking);
