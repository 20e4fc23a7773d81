import { CronExpressionParser } from 'cron-parser';
import type { IngestSchedule } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';

/** A schedule whose expression cron-parser cannot read (or whose zone it does not know). */
export class InvalidScheduleError extends DomainError {
  constructor(field: 'cron' | 'time_zone', message: string) {
    super('invalid', 'VALIDATION_FAILED', `ingest_schedule.${field}: ${message}`, {
      errors: [{ path: `ingest_schedule.${field}`, message }],
    });
  }
}

/** Throws InvalidScheduleError unless `schedule` can be read and yields a next slot. */
export function checkSchedule(schedule: IngestSchedule): void {
  let expression;
  try {
    expression = CronExpressionParser.parse(schedule.cron, { tz: schedule.time_zone, strict: false });
  } catch (error) {
    throw new InvalidScheduleError('cron', (error as Error).message);
  }
  try {
    expression.next();
  } catch (error) {
    throw new InvalidScheduleError('time_zone', (error as Error).message);
  }
}

/** At most this many slots are caught up in one look. */
export const MAX_CATCH_UP_SLOTS = 10;

/**
 * The slots a replica should fire at `now`, oldest first:
 * - the latest instant of `schedule` at or before `now` (never one before `since`, when the
 *   schedule was set: a slot before that is not this schedule's);
 * - and, when a replica fired `lastFired` less than `catchUpMs` ago, each slot between it and
 *   that one too (at most MAX_CATCH_UP_SLOTS): a look that came late (a busy machine, a
 *   pause) loses no slot.
 * A slot missed while every replica was down — nothing fired for `catchUpMs` or longer — is
 * not fired one by one: only the latest is, once.
 */
export function dueSlots(schedule: IngestSchedule, now: Date, since: Date, lastFired: Date | null, catchUpMs: number): Date[] {
  const latest = latestSlot(schedule, now);
  if (!latest || latest.getTime() < since.getTime()) return [];
  if (!lastFired || lastFired.getTime() >= latest.getTime() || now.getTime() - lastFired.getTime() >= catchUpMs) return [latest];
  const expression = CronExpressionParser.parse(schedule.cron, { tz: schedule.time_zone, currentDate: lastFired });
  const slots: Date[] = [];
  for (;;) {
    const next = expression.next().toDate();
    if (next.getTime() >= latest.getTime() || slots.length >= MAX_CATCH_UP_SLOTS - 1) break;
    if (next.getTime() >= since.getTime()) slots.push(next);
  }
  return [...slots, latest];
}

/** The latest instant of `schedule` at or before `now`, or null if it has none. */
function latestSlot(schedule: IngestSchedule, now: Date): Date | null {
  // prev() is strictly before currentDate: one millisecond on makes a slot at `now` count.
  const expression = CronExpressionParser.parse(schedule.cron, { tz: schedule.time_zone, currentDate: new Date(now.getTime() + 1) });
  try {
    return expression.prev().toDate();
  } catch {
    return null; // no slot in the past at all
  }
}

/** The latest slot only (see dueSlots): what a replica fires when nothing was fired lately. */
export function dueSlot(schedule: IngestSchedule, now: Date, since: Date): Date | null {
  return dueSlots(schedule, now, since, null, 0)[0] ?? null;
}
