import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { InvalidCursorError, Keyset } from './index.js';

const bookings = new Keyset('bookings', z.tuple([z.string(), z.uuid()]));
const id = '00000000-0000-4000-8000-000000000001';

describe('a keyset cursor', () => {
  it('names the key it was made from', () => {
    const cursor = bookings.encode(['2025-01-01T00:00:00.123456Z', id]);
    expect(cursor).toMatch(/^[\w-]+$/);
    expect(bookings.decode(cursor)).toEqual(['2025-01-01T00:00:00.123456Z', id]);
    expect(bookings.decode(undefined)).toBeUndefined();
  });

  it('refuses garbage, another list’s cursor and a key of the wrong types', () => {
    const rooms = new Keyset('rooms', z.tuple([z.number().int()]));
    for (const cursor of ['%%%', 'bm90IGpzb24', rooms.encode([3]), Buffer.from(JSON.stringify(['bookings', 1, 2])).toString('base64url')]) {
      expect(() => bookings.decode(cursor), cursor).toThrow(InvalidCursorError);
    }
  });

  it('names a next page only when the extra row shows there is one', () => {
    const rows = [1, 2, 3].map((n) => ({ n }));
    const rooms = new Keyset('rooms', z.tuple([z.number().int()]));
    const full = rooms.page(
      rows,
      2,
      (r) => [r.n] as const,
      (r) => r.n,
    );
    expect(full.items).toEqual([1, 2]);
    expect(rooms.decode(full.next)).toEqual([2]);
    const last = rooms.page(
      rows,
      3,
      (r) => [r.n] as const,
      (r) => r.n,
    );
    expect(last).toEqual({ items: [1, 2, 3] });
  });
});
