import { rpcHandler, type RpcHandler } from '@cupo/amqp';
import { CancelBooking, ConfirmBooking, GetBooking, ListBookings, type Booking as BookingView } from '@cupo/contracts';
import { cancelBooking } from '../../app/cancel-booking.js';
import { confirmBooking } from '../../app/confirm-booking.js';
import { getBooking } from '../../app/get-booking.js';
import { listBookings } from '../../app/list-bookings.js';
import type { BookingDeps } from '../../app/ports.js';
import type { Booking } from '../../domain/booking.js';

/** The commands booking answers: translation between the wire and the use cases only. */
export function rpcHandlers(deps: BookingDeps, lockWaitMs: number): RpcHandler[] {
  return [
    rpcHandler(ConfirmBooking, async (command, context) =>
      toView(
        await confirmBooking(
          deps,
          {
            bookingId: command.booking_id,
            userId: command.user_id,
            roomId: command.room_id,
            checkIn: command.check_in,
            checkOut: command.check_out,
            attemptId: command.attempt_id ?? context.requestId,
          },
          context,
          lockWaitMs,
        ),
      ),
    ),

    rpcHandler(GetBooking, async (command) => toView(await getBooking(deps, command.booking_id, command.actor))),

    rpcHandler(ListBookings, async (command) => {
      const page = await listBookings(deps, command.actor, command.user_id, command.page);
      return { ...page, items: page.items.map(toView) };
    }),

    rpcHandler(CancelBooking, async (command, context) => toView(await cancelBooking(deps, command.booking_id, command.actor, context))),
  ];
}

export function toView(booking: Booking): BookingView {
  const view: BookingView = {
    id: booking.id,
    status: booking.status,
    user_id: booking.userId,
    room_id: booking.roomId,
    check_in: booking.checkIn,
    check_out: booking.checkOut,
    nights: booking.nights,
    created_at: booking.createdAt.toISOString(),
  };
  if (booking.cancelledAt) view.cancelled_at = booking.cancelledAt.toISOString();
  return view;
}
