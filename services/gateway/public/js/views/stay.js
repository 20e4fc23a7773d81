// What to tell a guest about a stay before and after asking for it. Each situation gets its own
// message: a bad range, nights not on sale, nights the guest holds already, nights sold out —
// and "someone else just took it" only when the calendar showed them free moments before.

import { daysBetween, nightsOf, nightsText, today } from '../dates.js';

export const MAX_NIGHTS = 30;

/** A problem with the dates themselves, or null. */
export function rangeProblem(checkIn, checkOut) {
  if (!checkIn) return 'Choose a check-in date.';
  if (!checkOut) return 'Choose a check-out date.';
  if (checkIn < today()) return 'Check-in cannot be in the past.';
  if (checkOut <= checkIn) return 'Check-out must be after check-in.';
  if (daysBetween(checkIn, checkOut) > MAX_NIGHTS) return `A stay can be at most ${MAX_NIGHTS} nights.`;
  return null;
}

/** The guest's confirmed bookings of this room that share a night with the stay. */
export function heldNights(bookings, roomId, checkIn, checkOut) {
  const wanted = new Set(nightsOf(checkIn, checkOut));
  return bookings
    .filter((b) => b.status === 'confirmed' && b.room_id === roomId)
    .flatMap((b) => nightsOf(b.check_in, b.check_out))
    .filter((night) => wanted.has(night));
}

/**
 * Why the stay cannot be booked, judged from the calendar and the guest's bookings (before
 * asking the server), or null if it looks bookable.
 */
export function availabilityProblem({ roomName, nights, checkIn, checkOut, bookings, roomId }) {
  const byDate = new Map(nights.map((n) => [n.date, n]));
  const stay = nightsOf(checkIn, checkOut);
  const closed = stay.filter((d) => byDate.get(d)?.total === 0);
  if (closed.length) return { kind: 'closed', text: `${roomName} is not on sale on ${nightsText(closed)}. Choose other dates.` };
  const sold = stay.filter((d) => byDate.get(d)?.available === 0);
  const mine = heldNights(bookings, roomId, checkIn, checkOut);
  if (sold.length && mine.length && sold.every((d) => mine.includes(d)))
    return { kind: 'held', text: `You already hold the last unit of ${roomName} on ${nightsText(sold)}: see My bookings.` };
  if (sold.length) return { kind: 'sold', text: `${roomName} is sold out on ${nightsText(sold)}. Choose other dates or another room.` };
  if (mine.length) return { kind: 'held', text: `You already hold ${roomName} on ${nightsText([...new Set(mine)])}.`, canProceed: true };
  return null;
}

/**
 * The server refused the stay (409 ROOM_UNAVAILABLE naming `refused` nights). `before` is the
 * calendar the guest saw when asking, `after` the fresh one, `bookings` theirs afterwards.
 */
export function refusalMessage({ roomName, refused, before, after, bookings, roomId, checkIn, checkOut }) {
  const was = new Map(before.map((n) => [n.date, n]));
  const now = new Map(after.map((n) => [n.date, n]));
  const closed = refused.filter((d) => (now.get(d) ?? was.get(d))?.total === 0);
  if (closed.length) return `${roomName} is not on sale on ${nightsText(closed)}. Choose other dates.`;
  const mine = heldNights(bookings, roomId, checkIn, checkOut);
  if (refused.every((d) => mine.includes(d)))
    return `You already hold the last unit of ${roomName} on ${nightsText(refused)} (booked meanwhile, perhaps in another window): see My bookings.`;
  const takenJustNow = refused.filter((d) => (was.get(d)?.available ?? 0) > 0);
  if (takenJustNow.length) return `Someone else just took ${roomName} on ${nightsText(takenJustNow)}. The calendar now shows what is left.`;
  return `${roomName} is sold out on ${nightsText(refused)}. Choose other dates or another room.`;
}
