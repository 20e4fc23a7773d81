import type { AttemptKey, HeldReservation, InventoryDeps, ReservationCursor } from './ports.js';

export interface NightsCommand {
  booking_id: string;
  attempt: number;
  room_id: number;
  nights: string[];
}

/**
 * Takes one unit of every night for one attempt of a booking, all or none. Idempotent per
 * attempt: a redelivered command finds its reservation and answers `reserved` again.
 */
export async function reserveNights(
  deps: Pick<InventoryDeps, 'store'>,
  command: NightsCommand,
): Promise<{ booking_id: string; status: 'reserved' }> {
  const status = await deps.store.reserve(command.booking_id, command.attempt, command.room_id, command.nights);
  return { booking_id: command.booking_id, status };
}

/** Gives an attempt's nights back, once; an attempt released before it reserved can never reserve. */
export async function releaseNights(
  deps: Pick<InventoryDeps, 'store'>,
  command: NightsCommand,
): Promise<{ booking_id: string; status: 'released' }> {
  const status = await deps.store.release(command.booking_id, command.attempt, command.room_id, command.nights);
  return { booking_id: command.booking_id, status };
}

/** The reconciler's walk: reservations holding nights, at least `older_than_ms` old, a page after `after`. */
export function listHeldReservations(
  deps: Pick<InventoryDeps, 'store'>,
  command: { after?: ReservationCursor | undefined; older_than_ms: number; limit: number },
): Promise<HeldReservation[]> {
  return deps.store.heldReservations(command.after, command.older_than_ms, command.limit);
}

/** Which of these attempts hold nights right now (none asked: none held, without a query). */
export async function findHeldAmong(deps: Pick<InventoryDeps, 'store'>, keys: AttemptKey[]): Promise<AttemptKey[]> {
  if (keys.length === 0) return [];
  return deps.store.heldAmong(keys);
}
