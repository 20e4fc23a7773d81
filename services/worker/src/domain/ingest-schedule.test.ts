import { describe, expect, it } from 'vitest';
import { checkSchedule, dueSlot, dueSlots, InvalidScheduleError, MAX_CATCH_UP_SLOTS } from './ingest-schedule.js';

const at = (iso: string) => new Date(iso);

describe('dueSlot', () => {
  const nightly = { cron: '0 2 * * *', time_zone: 'America/Argentina/Cordoba' }; // UTC-3, no DST

  it('is the latest slot at or before now, read in the schedule’s time zone', () => {
    expect(dueSlot(nightly, at('2026-03-10T12:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual(at('2026-03-10T05:00:00Z'));
    // Exactly on the slot counts.
    expect(dueSlot(nightly, at('2026-03-10T05:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual(at('2026-03-10T05:00:00Z'));
    // A millisecond before it: yesterday's.
    expect(dueSlot(nightly, at('2026-03-10T04:59:59.999Z'), at('2026-01-01T00:00:00Z'))).toEqual(at('2026-03-09T05:00:00Z'));
  });

  it('never fires a slot from before the schedule was set', () => {
    expect(dueSlot(nightly, at('2026-03-10T12:00:00Z'), at('2026-03-10T05:00:00.001Z'))).toBeNull();
    expect(dueSlot(nightly, at('2026-03-11T05:00:00Z'), at('2026-03-10T05:00:00.001Z'))).toEqual(at('2026-03-11T05:00:00Z'));
  });

  it('after days with nothing running, is only the latest missed slot', () => {
    expect(dueSlot(nightly, at('2026-03-20T09:00:00Z'), at('2026-03-01T00:00:00Z'))).toEqual(at('2026-03-20T05:00:00Z'));
  });

  it('follows daylight saving time in zones that have it', () => {
    const madrid = { cron: '0 2 * * *', time_zone: 'Europe/Madrid' };
    expect(dueSlot(madrid, at('2026-01-15T12:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual(at('2026-01-15T01:00:00Z'));
    expect(dueSlot(madrid, at('2026-07-15T12:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual(at('2026-07-15T00:00:00Z'));
  });

  it('reads six fields as seconds first', () => {
    const everySecond = { cron: '* * * * * *', time_zone: 'UTC' };
    expect(dueSlot(everySecond, at('2026-03-10T12:00:07.450Z'), at('2026-01-01T00:00:00Z'))).toEqual(at('2026-03-10T12:00:07Z'));
  });
});

describe('dueSlots', () => {
  const everySecond = { cron: '* * * * * *', time_zone: 'UTC' };
  const since = at('2026-03-10T00:00:00Z');

  it('is each slot after the last fired one when that was within the catch-up window', () => {
    expect(dueSlots(everySecond, at('2026-03-10T12:00:03.200Z'), since, at('2026-03-10T12:00:00Z'), 10_000)).toEqual([
      at('2026-03-10T12:00:01Z'),
      at('2026-03-10T12:00:02Z'),
      at('2026-03-10T12:00:03Z'),
    ]);
  });

  it('is only the latest after longer than the window with nothing fired (everything was down)', () => {
    expect(dueSlots(everySecond, at('2026-03-10T12:01:00.200Z'), since, at('2026-03-10T12:00:00Z'), 10_000)).toEqual([
      at('2026-03-10T12:01:00Z'),
    ]);
  });

  it('is the latest alone when it has fired already or nothing ever has', () => {
    expect(dueSlots(everySecond, at('2026-03-10T12:00:00.500Z'), since, at('2026-03-10T12:00:00Z'), 10_000)).toEqual([
      at('2026-03-10T12:00:00Z'),
    ]);
    expect(dueSlots(everySecond, at('2026-03-10T12:00:00.500Z'), since, null, 10_000)).toEqual([at('2026-03-10T12:00:00Z')]);
  });

  it('catches up at most MAX_CATCH_UP_SLOTS, the latest always among them', () => {
    const slots = dueSlots(everySecond, at('2026-03-10T12:00:30Z'), since, at('2026-03-10T12:00:00Z'), 60_000);
    expect(slots).toHaveLength(MAX_CATCH_UP_SLOTS);
    expect(slots.at(-1)).toEqual(at('2026-03-10T12:00:30Z'));
    expect(slots[0]).toEqual(at('2026-03-10T12:00:01Z'));
  });

  it('never includes a slot from before the schedule was set', () => {
    expect(dueSlots(everySecond, at('2026-03-10T12:00:03Z'), at('2026-03-10T12:00:02.500Z'), at('2026-03-10T12:00:00Z'), 10_000)).toEqual([
      at('2026-03-10T12:00:03Z'),
    ]);
  });
});

describe('checkSchedule', () => {
  it('accepts what cron-parser reads', () => {
    for (const cron of ['0 2 * * *', '*/5 * * * *', '0 0 2 * * 1-5', '* * * * * *', '@daily']) {
      expect(() => checkSchedule({ cron, time_zone: 'UTC' })).not.toThrow();
    }
  });

  it.each([
    [{ cron: '61 * * * *', time_zone: 'UTC' }, 'ingest_schedule.cron'],
    [{ cron: 'every night', time_zone: 'UTC' }, 'ingest_schedule.cron'],
    [{ cron: '* * * * * * * *', time_zone: 'UTC' }, 'ingest_schedule.cron'],
    [{ cron: '0 2 * * *', time_zone: 'Mars/Olympus_Mons' }, 'ingest_schedule.time_zone'],
  ])('refuses %j as invalid input naming %s', (schedule, path) => {
    let thrown: unknown;
    try {
      checkSchedule(schedule);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidScheduleError);
    expect(thrown).toMatchObject({ kind: 'invalid', code: 'VALIDATION_FAILED', details: { errors: [{ path }] } });
  });
});
