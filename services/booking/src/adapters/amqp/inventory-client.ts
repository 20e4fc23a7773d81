import type { RpcClient } from '@cupo/amqp';
import {
  InventoryCommands,
  type NightAvailability,
  type NightsCommand,
  type NightsResult,
} from '@cupo/contracts';
import type { CallContext, Inventory } from '../../app/ports.js';

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
    const to = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const key = `${roomId}:${nights[0]}:${to}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.rpc
        .call<NightAvailability[]>(
          InventoryCommands.getAvailability,
          { room_id: roomId, from: nights[0], to },
          this.options(context),
        )
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  async reserve(bookingId: string, roomId: number, nights: string[], context: CallContext): Promise<void> {
    const command: NightsCommand = { booking_id: bookingId, room_id: roomId, nights };
    await this.rpc.call<NightsResult>(InventoryCommands.reserveNights, command, this.options(context));
  }

  async release(bookingId: string, roomId: number, nights: string[], context: CallContext): Promise<void> {
    const command: NightsCommand = { booking_id: bookingId, room_id: roomId, nights };
    await this.rpc.call<NightsResult>(InventoryCommands.releaseNights, command, this.options(context));
  }

  private options(context: CallContext) {
    const remaining = context.deadline - Date.now();
    return {
      requestId: context.requestId,
      timeoutMs: Math.max(50, Math.min(this.timeoutMs, remaining)),
    };
  }
}
