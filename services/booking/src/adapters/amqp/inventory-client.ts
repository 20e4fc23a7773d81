import type { RpcClient } from '@cupo/amqp';
import {
  FindHeldAmong,
  GetAvailability,
  ListHeldReservations,
  ReleaseNights,
  ReserveNights,
  addDays,
  type NightAvailability,
  type NightsCommand,
} from '@cupo/contracts';
import type { CallContext, HeldReservation, Inventory, ReservationKey } from '../../app/ports.js';

/** Inventory as booking sees it: RPC commands on the bus, bounded by the caller's deadline. */
export class InventoryRpcClient implements Inventory {
  /** Availability reads in flight, by room and range: concurrent askers share one. */
  private readonly inFlight = new Map<string, Promise<NightAvailability[]>>();

  constructor(
    private readonly rpc: RpcClient,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Coalesced (single-flight): in a burst, dozens of bookings waiting for the same nights
   * all ask whether they sold out yet. One query answers them all, so the waiters do not
   * bury inventory — and the booking that holds the lock — under identical reads. Only this
   * advisory read is shared; reserve and release never are.
   */
  availability(roomId: number, nights: string[], context: CallContext): Promise<NightAvailability[]> {
    const last = nights[nights.length - 1]!;
    const to = addDays(last, 1);
    const key = `${roomId}:${nights[0]}:${to}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.rpc
        .call(GetAvailability, { room_id: roomId, from: nights[0]!, to }, this.options(context))
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  async reserve(key: ReservationKey, roomId: number, nights: string[], context: CallContext): Promise<void> {
    const command: NightsCommand = { booking_id: key.bookingId, attempt: key.attempt, room_id: roomId, nights };
    await this.rpc.call(ReserveNights, command, this.options(context));
  }

  async release(key: ReservationKey, roomId: number, nights: string[], context: CallContext): Promise<void> {
    const command: NightsCommand = { booking_id: key.bookingId, attempt: key.attempt, room_id: roomId, nights };
    await this.rpc.call(ReleaseNights, command, this.options(context));
  }

  async heldReservations(
    after: HeldReservation | undefined,
    olderThanMs: number,
    limit: number,
    context: CallContext,
  ): Promise<HeldReservation[]> {
    const page = await this.rpc.call(
      ListHeldReservations,
      {
        ...(after ? { after: { booking_id: after.bookingId, attempt: after.attempt, reserved_at: after.reservedAt } } : {}),
        older_than_ms: olderThanMs,
        limit,
      },
      this.options(context),
    );
    return page.map((held) => ({
      bookingId: held.booking_id,
      attempt: held.attempt,
      roomId: held.room_id,
      nights: held.nights,
      reservedAt: held.reserved_at,
    }));
  }

  async heldAmong(keys: ReservationKey[], context: CallContext): Promise<ReservationKey[]> {
    const held = await this.rpc.call(
      FindHeldAmong,
      { keys: keys.map((key) => ({ booking_id: key.bookingId, attempt: key.attempt })) },
      this.options(context),
    );
    return held.map((key) => ({ bookingId: key.booking_id, attempt: key.attempt }));
  }

  private options(context: CallContext) {
    const remaining = context.deadline - Date.now();
    return {
      requestId: context.requestId,
      timeoutMs: Math.max(50, Math.min(this.timeoutMs, remaining)),
    };
  }
}
