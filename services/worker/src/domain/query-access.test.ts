import { describe, expect, it } from 'vitest';
import { assertMayAsk, assertMayRead } from './query-access.js';

const guest = { id: 'g-1', role: 'guest' } as const;
const student = { id: 'RA0001', role: 'student' } as const;
const admin = { id: 'a-1', role: 'admin' } as const;

describe('who may ask for and read a report', () => {
  it('lets only an admin ask for a roster, and anyone signed in for the room reports', () => {
    for (const actor of [guest, student]) expect(() => assertMayAsk(actor, 'section_roster')).toThrow(/admins only/);
    expect(() => assertMayAsk(admin, 'section_roster')).not.toThrow();
    for (const actor of [guest, student, admin]) {
      expect(() => assertMayAsk(actor, 'occupancy_report')).not.toThrow();
      expect(() => assertMayAsk(actor, 'room_search')).not.toThrow();
    }
  });

  it('shows a query to whoever asked it or an admin, and a roster to admins only', () => {
    expect(() => assertMayRead(guest, { type: 'room_search', requested_by: 'g-1' })).not.toThrow();
    expect(() => assertMayRead(guest, { type: 'room_search', requested_by: 'g-2' })).toThrow(/your own/);
    expect(() => assertMayRead(admin, { type: 'room_search', requested_by: 'g-2' })).not.toThrow();
    expect(() => assertMayRead(student, { type: 'section_roster', requested_by: 'RA0001' })).toThrow(/admins only/);
    expect(() => assertMayRead(admin, { type: 'section_roster', requested_by: 'a-2' })).not.toThrow();
  });
});
