import { StayInvalidError } from './errors.js';

/** A stay covers the nights check_in ≤ d < check_out. */
export const MAX_NIGHTS = 30;

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface Stay {
  checkIn: string;
  checkOut: string;
  /** Every night of the stay, ascending: the order locks are taken in. */
  nights: string[];
}

/**
 * Builds a stay, enforcing the range rules: real dates, 1 to 30 nights, not starting
 * before `today`. The gateway checks the same rules on the public body; they are enforced
 * here again because commands can reach this service from anywhere on the bus.
 */
export function stayOf(checkIn: string, checkOut: string, today: string): Stay {
  const start = parseDate(checkIn, 'check_in');
  const end = parseDate(checkOut, 'check_out');
  const count = Math.round((end - start) / DAY_MS);
  if (count < 1) throw new StayInvalidError('check_out must be after check_in');
  if (count > MAX_NIGHTS) throw new StayInvalidError(`a stay may cover at most ${MAX_NIGHTS} nights`);
  if (checkIn < today) throw new StayInvalidError('check_in must not be in the past');
  return { checkIn, checkOut, nights: nightsFrom(checkIn, count) };
}

/** The `count` nights starting at `checkIn`, ascending. */
export function nightsFrom(checkIn: string, count: number): string[] {
  const start = Date.parse(`${checkIn}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(start + i * DAY_MS).toISOString().slice(0, 10));
}

function parseDate(value: string, field: string): number {
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!ISO_DATE.test(value) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new StayInvalidError(`${field} must be a real date YYYY-MM-DD`);
  }
  return ms;
}
