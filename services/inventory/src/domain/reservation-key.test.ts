import { describe, expect, it } from 'vitest';
import { reservationKey } from './reservation-key.js';

describe('a reservation key', () => {
  const booking = '7d3b1f1e-8a4c-4b8e-9f0a-1c2d3e4f5a6b';

  it('is the booking id for the first attempt (rows written before attempts existed keep theirs)', () => {
    expect(reservationKey(booking, 1)).toBe(booking);
  });

  it('is a stable uuid of its own for each later attempt', () => {
    const second = reservationKey(booking, 2);
    expect(second).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(reservationKey(booking, 2)).toBe(second);
    expect(new Set([booking, second, reservationKey(booking, 3)]).size).toBe(3);
    expect(reservationKey('0b6a7c1e-2f3d-4e5a-8b9c-0d1e2f3a4b5c', 2)).not.toBe(second);
  });
});
