// Dates as the system books them (UTC calendar days, YYYY-MM-DD) and as people read them.

const DAY_MS = 86_400_000;
const dayFormat = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const momentFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const WEEKDAY_NAMES = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};
export const WEEKDAY_SHORT = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

const utc = (date) => new Date(`${date}T00:00:00Z`);

export const today = () => new Date().toISOString().slice(0, 10);
export const addDays = (date, days) => new Date(utc(date).getTime() + days * DAY_MS).toISOString().slice(0, 10);
export const daysBetween = (from, to) => Math.round((utc(to) - utc(from)) / DAY_MS);

/** Every night of a stay, check-in up to the night before check-out. */
export const nightsOf = (checkIn, checkOut) =>
  Array.from({ length: Math.max(0, daysBetween(checkIn, checkOut)) }, (_, i) => addDays(checkIn, i));

/** "Tue 12 May" */
export const dayName = (date) => dayFormat.format(utc(date));
/** "May 2026" */
export const monthName = (date) => monthFormat.format(utc(date));
/** Monday 0 … Sunday 6 */
export const weekdayIndex = (date) => (utc(date).getUTCDay() + 6) % 7;

export const plural = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** "Tue 12 May → Thu 14 May, 2 nights" */
export const stayText = (checkIn, checkOut) =>
  `${dayName(checkIn)} → ${dayName(checkOut)}, ${plural(daysBetween(checkIn, checkOut), 'night')}`;

/** A list of nights in words, runs of consecutive nights joined: "Tue 12 May – Thu 14 May". */
export function nightsText(nights) {
  const sorted = [...nights].sort();
  const runs = [];
  for (const night of sorted) {
    const last = runs.at(-1);
    if (last && addDays(last[1], 1) === night) last[1] = night;
    else runs.push([night, night]);
  }
  return runs.map(([a, b]) => (a === b ? dayName(a) : `${dayName(a)} – ${dayName(b)}`)).join(', ');
}

/** "12 May, 14:03" in the reader's time zone; "—" for none. */
export const momentText = (iso) => (iso ? momentFormat.format(new Date(iso)) : '—');

/** "2 min 5 s" between two instants. */
export function durationText(fromIso, toIso) {
  if (!fromIso || !toIso) return '—';
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${seconds % 60} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "Mon, Wed 07:00–08:40" for a weekly schedule. */
export function scheduleText(schedule) {
  if (!schedule?.length) return 'No fixed meetings';
  const byTime = new Map();
  for (const meeting of schedule) {
    const key = `${meeting.start}–${meeting.end}`;
    byTime.set(key, [...(byTime.get(key) ?? []), WEEKDAY_SHORT[meeting.day]]);
  }
  return [...byTime].map(([time, days]) => `${days.join(', ')} ${time}`).join('; ');
}
