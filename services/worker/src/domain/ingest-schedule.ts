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

/**
 * The slot a replica should fire at `now`: the latest instant of `schedule` at or before
 * `now`, provided it is not before `since` (when the schedule was set; a slot before that is
 * not this schedule's). Only the latest: slots missed while every replica was down, or closer
 * together than replicas look, are not fired one by one — the next look fires the latest once.
 */
export function dueSlot(schedule: IngestSchedule, now: Date, since: Date): Date | null {
  // prev() is strictly before currentDate: one millisecond on makes a slot at `now` count.
  const expression = CronExpressionParser.parse(schedule.cron, { tz: schedule.time_zone, currentDate: new Date(now.getTime() + 1) });
  let slot: Date;
  try {
    slot = expression.prev().toDate();
  } catch {
    return null; // no slot in the past at all
  }
  return slot.getTime() >= since.getTime() ? slot : null;
}
