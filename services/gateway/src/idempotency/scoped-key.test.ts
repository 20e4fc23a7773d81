import { describe, expect, it } from 'vitest';
import { scopedKey } from './scoped-key.js';

describe('an idempotency key’s stored name', () => {
  it('keeps callers apart even when their ids and keys contain the separator', () => {
    expect(scopedKey('booking', 'a', 'b:c')).not.toBe(scopedKey('booking', 'a:b', 'c'));
    expect(scopedKey('booking', 'guest-1', 'my-key')).toBe('booking:7:guest-1:my-key');
    expect(scopedKey('enrollment', 'RA0001', '1-2025', 'G-A,G-B')).toBe('enrollment:6:RA0001:1-2025:G-A,G-B');
  });
});
