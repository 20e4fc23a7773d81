import { MAX_NIGHTS, daysBetween, isIsoDate, nightsFrom } from '@cupo/contracts';
import { StayInvalidError } from './errors.js';

// The use cases take a stay's nights from here, beside the rules that made it.
export { nightsFrom };

export interface Stay {
  checkIn: string;
  checkOut: string;
  /** Every night of the stay, ascending: the order locks are taken in. */
  nights: string[];
}

/**
 * Builds a stay, enforcing the range rules: real dates, 1 to MAX_NIGHTS nights, not starting
 * before `today`. The gateway checks the same rules on the public body; they are enforced
 * here again because commands can reach this service from anywhere on the bus.
 */
export function stayOf(checkIn: string, checkOut: string, today: string): Stay {
  checkDate(checkIn, 'check_in');
  checkDate(checkOut, 'check_out');
  const count = daysBetween(checkIn, checkOut);
  if (count < 1) throw new StayInvalidError('check_out must be after check_in');
  if (count > MAX_NIGHTS) throw new StayInvalidError(`a stay may cover at most ${MAX_NIGHTS} nights`);
  if (checkIn < today) throw new StayInvalidError('check_in must not be in the past');
  return { checkIn, checkOut, nights: nightsFrom(checkIn, count) };
}

function checkDate(value: string, field: string): void {
  if (!isIsoDate(value)) throw new StayInvalidError(`${field} must be a real date YYYY-MM-DD`);
}
