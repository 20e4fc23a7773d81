import type { Meeting } from '@cupo/contracts';
import {
  AlreadyEnrolledError,
  ScheduleConflictError,
  SectionFullError,
  SectionNotFoundError,
  StudentInactiveError,
  StudentNotFoundError,
  TermClosedError,
  TermNotFoundError,
} from './errors.js';
import { firstOverlap, overlapWithin } from './schedule.js';

export interface StudentFacts {
  id: string;
  active: boolean;
}
export interface TermFacts {
  code: string;
  open: boolean;
}
export interface SectionFacts {
  code: string;
  course: string;
  term: string;
  capacity: number;
  enrolled: number;
  schedule: Meeting[];
}
/** A seat the student holds or has (held by a running saga, or active). */
export interface SeatFacts {
  section: string;
  course: string;
  schedule: Meeting[];
}

/**
 * The checks that need no seat, in the contract's order: the student exists and is active,
 * the term exists and is open, every section exists in that term, and the sections asked
 * for do not overlap one another. Throws the first refusal.
 */
export function checkRequest(input: {
  studentId: string;
  student: StudentFacts | undefined;
  termCode: string;
  term: TermFacts | undefined;
  requested: readonly string[];
  sections: ReadonlyMap<string, SectionFacts>;
}): void {
  if (!input.student) throw new StudentNotFoundError(input.studentId);
  if (!input.student.active) throw new StudentInactiveError(input.studentId);
  if (!input.term) throw new TermNotFoundError(input.termCode);
  if (!input.term.open) throw new TermClosedError(input.termCode);
  const asked: SectionFacts[] = [];
  for (const code of input.requested) {
    const section = input.sections.get(code);
    if (!section || section.term !== input.termCode) throw new SectionNotFoundError(code, input.termCode);
    asked.push(section);
  }
  const overlap = overlapWithin(asked);
  if (overlap) throw new ScheduleConflictError(overlap.a, overlap.b, overlap.when);
}

/**
 * The checks for one seat, made while the section's and the student's rows are locked, in
 * the contract's order: a seat is free, no overlap with the student's other sections, not
 * already in that course. Sections of the same course are left to the last check, so a
 * second section of a course reads ALREADY_ENROLLED rather than an overlap with itself.
 */
export function checkSeat(input: { studentId: string; section: SectionFacts; seats: readonly SeatFacts[] }): void {
  const { section, seats } = input;
  if (section.enrolled >= section.capacity) throw new SectionFullError(section.code);
  const others = seats.filter((seat) => seat.course !== section.course).map((seat) => ({ code: seat.section, schedule: seat.schedule }));
  const overlap = firstOverlap({ code: section.code, schedule: section.schedule }, others);
  if (overlap) throw new ScheduleConflictError(overlap.a, overlap.b, overlap.when);
  const sameCourse = seats.find((seat) => seat.course === section.course);
  if (sameCourse) throw new AlreadyEnrolledError(input.studentId, section.course, sameCourse.section);
}
