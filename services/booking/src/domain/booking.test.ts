import { describe, expect, it } from 'vitest';
import { assertCanAccess, isVisible, type Booking } from './booking.js';
import { BookingForbiddenError } from './errors.js';

const booking = (overrides: Partial<Booking> = {}): Booking => ({
  id: 'b1',
  userId: 'alice',
  roomId: 1,
  checkIn: '2030-01-01',
  checkOut: '2030-01-02',
  nights: 1,
  status: 'confirmed',
  attempt: 1,
  attemptId: null,
  failureCode: null,
  releaseOwed: false,
  createdAt: new Date(),
  cancelledAt: null,
  ...overrides,
});

describe('who may see a booking', () => {
  it('lets its owner and any admin in, and nobody else', () => {
    expect(() => assertCanAccess({ id: 'alice', role: 'guest' }, booking())).not.toThrow();
    expect(() => assertCanAccess({ id: 'root', role: 'admin' }, booking())).not.toThrow();
    expect(() => assertCanAccess({ id: 'bob', role: 'guest' }, booking())).toThrow(BookingForbiddenError);
  });

  it('does not show failed attempts as bookings', () => {
    expect(isVisible(booking({ status: 'failed' }))).toBe(false);
    expect(isVisible(booking({ status: 'cancelled' }))).toBe(true);
  });
});
