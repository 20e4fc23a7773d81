import { describe, expect, it } from 'vitest';
import { checkRequest, checkSeat, type SectionFacts } from './enrollment-rules.js';
import { meetingsOverlap } from './schedule.js';

const section = (code: string, course: string, day: 'mon' | 'tue', start: string, end: string, seats = 5): SectionFacts => ({
  code,
  course,
  term: '1-2025',
  capacity: seats,
  enrolled: 0,
  schedule: [{ day, start, end }],
});

describe('schedules', () => {
  it('overlap only on the same day when the intervals meet; touching ends do not overlap', () => {
    expect(meetingsOverlap({ day: 'mon', start: '09:00', end: '10:00' }, { day: 'mon', start: '09:59', end: '11:00' })).toBe(true);
    expect(meetingsOverlap({ day: 'mon', start: '09:00', end: '10:00' }, { day: 'mon', start: '10:00', end: '11:00' })).toBe(false);
    expect(meetingsOverlap({ day: 'mon', start: '09:00', end: '10:00' }, { day: 'tue', start: '09:00', end: '10:00' })).toBe(false);
  });
});

describe('the checks on a request', () => {
  const sections = new Map([
    ['A', section('A', 'MAT', 'mon', '09:00', '10:00')],
    ['B', section('B', 'FIS', 'mon', '09:30', '10:30')],
    ['C', section('C', 'PRG', 'tue', '09:00', '10:00')],
  ]);
  const base = {
    studentId: 'RA0001',
    student: { id: 'RA0001', active: true },
    termCode: '1-2025',
    term: { code: '1-2025', open: true },
    sections,
  };

  it('come in the contract order: student, term, sections, overlaps inside the request', () => {
    expect(() => checkRequest({ ...base, student: undefined, term: undefined, requested: ['A'] })).toThrow(
      /Student 'RA0001' does not exist/,
    );
    expect(() => checkRequest({ ...base, student: { id: 'RA0001', active: false }, requested: ['A'] })).toThrow(/not active/);
    expect(() => checkRequest({ ...base, term: { code: '1-2025', open: false }, requested: ['NOPE'] })).toThrow(/not open/);
    expect(() => checkRequest({ ...base, requested: ['A', 'NOPE'] })).toThrow(/'NOPE' does not exist/);
    expect(() => checkRequest({ ...base, requested: ['A', 'B'] })).toThrow(/'B' overlaps section 'A' \(mon 09:30-10:00\)/);
    expect(() => checkRequest({ ...base, requested: ['A', 'C'] })).not.toThrow();
  });

  it('refuse a full section before anything else about the seat', () => {
    const full = { ...section('A', 'MAT', 'mon', '09:00', '10:00', 1), enrolled: 1 };
    expect(() => checkSeat({ studentId: 'RA0001', section: full, seats: [] })).toThrow("Section 'A' has no seats available");
  });

  it('refuse an overlap with a seat held in another course, and a second section of the same course', () => {
    const a = section('A', 'MAT', 'mon', '09:00', '10:00');
    const fis = { section: 'B', course: 'FIS', schedule: [{ day: 'mon' as const, start: '09:30', end: '10:30' }] };
    expect(() => checkSeat({ studentId: 'RA0001', section: a, seats: [fis] })).toThrow(/overlaps/);
    const mat = { section: 'A2', course: 'MAT', schedule: [{ day: 'mon' as const, start: '09:00', end: '10:00' }] };
    expect(() => checkSeat({ studentId: 'RA0001', section: a, seats: [mat] })).toThrow(/already enrolled in course 'MAT'/);
  });
});
