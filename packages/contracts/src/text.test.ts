import { describe, expect, it } from 'vitest';
import { Actor } from './actor.js';
import { ListBookingsQuery } from './bookings.js';
import { CreateStudentBody, ForgetIdempotencyKeyCommand, PurgeSagasQuery } from './enrollments.js';
import { CreateRoomBody } from './rooms.js';

const student = (overrides: Record<string, unknown>) => ({ id: 'RA0099', name: 'Ada Lovelace', email: 'ada@example.com', ...overrides });
const room = (overrides: Record<string, unknown>) => ({ name: 'Suite', type: 'double', total_quantity: 1, open_days: 1, ...overrides });

describe('the one rule for strings', () => {
  it('refuses NUL and every other control character in free text, and lone surrogates', () => {
    for (const bad of ['a\u0000b', 'tab\there', 'line\nbreak', 'del\u007f', 'c1\u0085', 'half\ud800', '\tedge', 'edge\n']) {
      expect(CreateStudentBody.safeParse(student({ name: bad })).success, JSON.stringify(bad)).toBe(false);
      expect(CreateRoomBody.safeParse(room({ name: bad })).success, JSON.stringify(bad)).toBe(false);
      expect(CreateRoomBody.safeParse(room({ type: bad })).success, JSON.stringify(bad)).toBe(false);
      expect(Actor.safeParse({ id: bad, role: 'guest' }).success, JSON.stringify(bad)).toBe(false);
      expect(ListBookingsQuery.safeParse({ user_id: bad }).success, JSON.stringify(bad)).toBe(false);
      expect(ForgetIdempotencyKeyCommand.safeParse({ key: bad }).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('keeps names in any script, with accents and emoji', () => {
    for (const name of ['José Ñúñez', 'Łukasz Żółć', '王小明', 'Zoë 😀']) {
      expect(CreateStudentBody.safeParse(student({ name })).success, name).toBe(true);
    }
  });
});

describe('field limits', () => {
  it('takes an e-mail address of at most 254 characters with a local part of at most 64 (RFC 5321)', () => {
    const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.example.com`;
    expect(CreateStudentBody.safeParse(student({ email: `${'a'.repeat(64)}@example.com` })).success).toBe(true);
    expect(CreateStudentBody.safeParse(student({ email: `${'a'.repeat(65)}@example.com` })).success).toBe(false);
    expect(CreateStudentBody.safeParse(student({ email: `${'a'.repeat(300)}@example.com` })).success).toBe(false);
    const long = `${'a'.repeat(254 - domain.length - 1)}@${domain}`;
    expect(long.length).toBe(254);
    expect(CreateStudentBody.safeParse(student({ email: long })).success).toBe(true);
    expect(CreateStudentBody.safeParse(student({ email: `a${long}` })).success).toBe(false);
  });

  it('bounds names, user ids and ages', () => {
    expect(CreateStudentBody.safeParse(student({ name: 'n'.repeat(200) })).success).toBe(true);
    expect(CreateStudentBody.safeParse(student({ name: 'n'.repeat(201) })).success).toBe(false);
    expect(CreateRoomBody.safeParse(room({ type: 't'.repeat(101) })).success).toBe(false);
    expect(Actor.safeParse({ id: 'u'.repeat(128), role: 'guest' }).success).toBe(true);
    expect(Actor.safeParse({ id: 'u'.repeat(129), role: 'guest' }).success).toBe(false);
    expect(PurgeSagasQuery.safeParse({ status: 'completed', older_than_seconds: '99999999999999999999' }).success).toBe(false);
  });
});
