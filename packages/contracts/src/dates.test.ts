import { describe, expect, it } from 'vitest';
import {
  IsoDate,
  MAX_NIGHTS,
  addDays,
  daysBetween,
  daysFromToday,
  isIsoDate,
  isoDateOf,
  nightsBetween,
  nightsFrom,
  todayUtc,
} from './dates.js';

describe('calendar dates', () => {
  it('are YYYY-MM-DD dates that exist', () => {
    expect(['2028-02-29', '2030-12-31', '2030-01-01'].every(isIsoDate)).toBe(true);
    expect(['2030-02-29', '2030-02-30', '2030-13-01', '2030-1-5', '2030-01-05T00:00:00Z', ''].some(isIsoDate)).toBe(false);
    expect(IsoDate.safeParse('2030-02-30').success).toBe(false);
    expect(IsoDate.safeParse('2028-02-29').success).toBe(true);
  });

  it('count whole days across a leap day, a year end and the European clock change', () => {
    expect(daysBetween('2028-02-28', '2028-03-01')).toBe(2);
    expect(daysBetween('2030-12-31', '2031-01-01')).toBe(1);
    expect(daysBetween('2030-03-30', '2030-04-01')).toBe(2);
    expect(daysBetween('2030-01-05', '2030-01-01')).toBe(-4);
  });

  it('move by days, forwards and back', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2030-12-31', 1)).toBe('2031-01-01');
    expect(addDays('2030-03-01', -1)).toBe('2030-02-28');
    expect(addDays('2030-01-01', 0)).toBe('2030-01-01');
  });

  it('put an instant on the UTC calendar, whatever the local time zone says', () => {
    const lateEvening = new Date('2030-06-30T23:30:00-02:00');
    expect(isoDateOf(lateEvening)).toBe('2030-07-01');
    expect(todayUtc(lateEvening)).toBe('2030-07-01');
    expect(daysFromToday(3, lateEvening)).toBe('2030-07-04');
    expect(daysFromToday(-1, lateEvening)).toBe('2030-06-30');
  });

  it('list the nights of a stay, check-out excluded', () => {
    expect(nightsFrom('2028-02-28', 3)).toEqual(['2028-02-28', '2028-02-29', '2028-03-01']);
    expect(nightsBetween('2030-12-30', '2031-01-01')).toEqual(['2030-12-30', '2030-12-31']);
    expect(nightsBetween('2030-01-05', '2030-01-05')).toEqual([]);
    expect(nightsBetween('2030-01-05', '2030-01-04')).toEqual([]);
    expect(nightsFrom('2030-01-01', MAX_NIGHTS).at(-1)).toBe('2030-01-30');
  });
});
