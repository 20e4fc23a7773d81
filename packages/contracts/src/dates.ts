import { z } from 'zod';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar date `YYYY-MM-DD` that exists (no 2025-02-30). */
export const IsoDate = z
  .string()
  .regex(ISO_DATE, 'must be a date in the form YYYY-MM-DD')
  .refine((value) => {
    const parsed = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
  }, 'is not a real calendar date');

/** Whole days from `from` to `to` (both `YYYY-MM-DD`, UTC calendar). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The date `days` after `date` (UTC calendar). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Today's date on the UTC calendar, which is the calendar the whole system books on. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}
