import { describe, expect, it } from 'vitest';
import { BookingRequestBody } from './bookings.js';
import { addDays, todayUtc } from './dates.js';

const today = todayUtc();

describe('the public booking body', () => {
  it('accepts a stay of 1 to 30 nights from today on', () => {
    expect(BookingRequestBody.safeParse({ room_id: 1, check_in: today, check_out: addDays(today, 1) }).success).toBe(true);
    expect(BookingRequestBody.safeParse({ room_id: 1, check_in: today, check_out: addDays(today, 30) }).success).toBe(true);
  });

  it('names every offending field', () => {
    const result = BookingRequestBody.safeParse({ room_id: 0, check_in: addDays(today, -2), check_out: addDays(today, 40) });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['room_id']));
  });

  it('refuses zero nights, 31 nights, the past and fields it does not know', () => {
    for (const body of [
      { room_id: 1, check_in: addDays(today, 2), check_out: addDays(today, 2) },
      { room_id: 1, check_in: addDays(today, 1), check_out: addDays(today, 32) },
      { room_id: 1, check_in: addDays(today, -1), check_out: addDays(today, 1) },
      { room_id: 1, check_in: addDays(today, 1), check_out: addDays(today, 2), user_id: 'x' },
      { room_id: 1, check_in: '2031-02-29', check_out: '2031-03-01' },
    ]) {
      expect(BookingRequestBody.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });
});
