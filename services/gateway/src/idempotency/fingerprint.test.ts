import { describe, expect, it } from 'vitest';
import { fingerprintOf } from './idempotency-store.js';

describe('a request fingerprint', () => {
  const base = { userId: 'u', method: 'POST', route: '/api/bookings' };

  it('ignores key order in the body', () => {
    expect(fingerprintOf({ ...base, body: { a: 1, b: { c: 2, d: 3 } } })).toBe(
      fingerprintOf({ ...base, body: { b: { d: 3, c: 2 }, a: 1 } }),
    );
  });

  it('differs by user, route and value', () => {
    const reference = fingerprintOf({ ...base, body: { a: 1 } });
    expect(fingerprintOf({ ...base, userId: 'v', body: { a: 1 } })).not.toBe(reference);
    expect(fingerprintOf({ ...base, route: '/api/enrollments', body: { a: 1 } })).not.toBe(reference);
    expect(fingerprintOf({ ...base, body: { a: 2 } })).not.toBe(reference);
  });
});
