import { describe, expect, it } from 'vitest';
import { StayInvalidError } from './errors.js';
import { stayOf } from './stay.js';

describe('a stay', () => {
  it('covers the nights from check-in up to, not including, check-out', () => {
    expect(stayOf('2030-02-27', '2030-03-02', '2030-01-01').nights).toEqual(['2030-02-27', '2030-02-28', '2030-03-01']);
  });

  it('crosses a leap day and a year end', () => {
    expect(stayOf('2028-02-28', '2028-03-01', '2028-01-01').nights).toEqual(['2028-02-28', '2028-02-29']);
    expect(stayOf('2030-12-31', '2031-01-01', '2030-01-01').nights).toEqual(['2030-12-31']);
  });

  it('may start today', () => {
    expect(stayOf('2030-01-01', '2030-01-02', '2030-01-01').nights).toHaveLength(1);
  });

  it.each([
    ['no nights', '2030-01-05', '2030-01-05'],
    ['a negative range', '2030-01-05', '2030-01-04'],
    ['31 nights', '2030-01-01', '2030-02-01'],
    ['a past check-in', '2029-12-31', '2030-01-02'],
    ['an impossible date', '2030-02-30', '2030-03-02'],
    ['a malformed date', '2030-1-5', '2030-01-06'],
  ])('refuses %s', (_name, checkIn, checkOut) => {
    expect(() => stayOf(checkIn, checkOut, '2030-01-01')).toThrow(StayInvalidError);
  });

  it('accepts exactly 30 nights', () => {
    expect(stayOf('2030-01-01', '2030-01-31', '2030-01-01').nights).toHaveLength(30);
  });
});
