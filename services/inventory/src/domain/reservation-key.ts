import { v5 as uuidv5 } from 'uuid';

/** Namespace of the reservation keys of a booking's later attempts. */
const ATTEMPT_KEY_NAMESPACE = '2f6a0f1e-5c8b-4d7e-9b3a-8e1d4c6f7a20';

/**
 * The key a booking attempt's reservation is stored under: the booking id for the first
 * attempt (as the version before attempts stored it), one derived from the booking id and the
 * attempt number for a later one.
 */
export function reservationKey(bookingId: string, attempt: number): string {
  return attempt === 1 ? bookingId : uuidv5(`${bookingId}/${attempt}`, ATTEMPT_KEY_NAMESPACE);
}
