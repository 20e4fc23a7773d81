import { z } from 'zod';

/**
 * The only place that does calendar arithmetic (a test refuses the raw patterns elsewhere).
 * Dates are `YYYY-MM-DD` strings on the UTC calendar, the one the whole system books on, so
 * a day is always 86 400 000 ms here and no time zone ever shifts a night.
 */
const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A stay covers the nights check_in ≤ d < check_out: at least one, at most this many. */
export const MAX_NIGHTS = 30;

/** Whether `value` is `YYYY-MM-DD` and a date that exists (no 2025-02-30). */
export function isIsoDate(value: string): boolean {
  const parsed = Date.parse(`${value}T00:00:00Z`);
  return ISO_DATE.test(value) && !Number.isNaN(parsed) && isoDateOf(new Date(parsed)) === value;
}

/** A calendar date `YYYY-MM-DD` that exists (no 2025-02-30). */
export const IsoDate = z.string().regex(ISO_DATE, 'must be a date in the form YYYY-MM-DD').refine(isIsoDate, 'is not a real calendar date');

/** Whole days from `from` to `to` (both `YYYY-MM-DD`, UTC calendar). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** The date `days` after `date` (UTC calendar). */
export function addDays(date: string, days: number): string {
  return isoDateOf(new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS));
}

/** The UTC calendar date an instant falls on. */
export function isoDateOf(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/** Today's date on the UTC calendar, which is the calendar the whole system books on. */
export function todayUtc(now: Date = new Date()): string {
  return isoDateOf(now);
}

/** The date `days` from today (negative: before), UTC calendar. */
export function daysFromToday(days: number, now: Date = new Date()): string {
  return addDays(todayUtc(now), days);
}

/** The `count` nights starting at `checkIn`, ascending. */
export function nightsFrom(checkIn: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => addDays(checkIn, i));
}

/** The nights of a stay, check_in ≤ d < check_out, ascending (none when check_out is not after check_in). */
export function nightsBetween(checkIn: string, checkOut: string): string[] {
  return nightsFrom(checkIn, Math.max(0, daysBetween(checkIn, checkOut)));
}
