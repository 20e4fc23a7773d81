import {
  Schedule,
  SectionCode,
  TermCode,
  type Enrollment,
  type FailureReason,
  type RequestStatus,
  type SagaStatus,
  type Section,
} from '@cupo/contracts';
import type { Sql, TransactionSql } from '@cupo/database';
import { Keyset } from '@cupo/paging';
import { z } from 'zod';
import type { RequestRecord } from '../../app/ports.js';
import type { SectionFacts } from '../../domain/enrollment-rules.js';
import type { Saga, SagaStep } from '../../domain/saga.js';

/** The rows of enrollment's tables and how each becomes what the use cases see; shared by the stores. */

// Each list's sort key, ending in a unique column. Timestamps keep PostgreSQL's microseconds
// (a Date would round them, and the next page would repeat or skip rows of one millisecond),
// so they are read with to_char and sent back as text (porsager sends a timestamptz
// parameter through a Date).
// Cursor keys are checked against what the columns hold: a forged cursor is a 400, never odd SQL input.
export const TERMS = new Keyset('terms', z.tuple([TermCode]));
export const SECTIONS = new Keyset('sections', z.tuple([TermCode, SectionCode]));
export const STUDENT_ENROLLMENTS = new Keyset('student-enrollments', z.tuple([TermCode, SectionCode]));
export const REQUESTS = new Keyset('requests', z.tuple([z.iso.datetime({ precision: 6 }), z.uuid()]));
export const SAGAS = new Keyset('sagas', z.tuple([z.iso.datetime({ precision: 6 }), z.uuid()]));

export interface RequestRow {
  id: string;
  student_id: string;
  term: string;
  sections: string[];
  status: RequestStatus;
  error_code: string | null;
  error_detail: string | null;
  accepted_at: Date;
  finished_at: Date | null;
}

export interface SagaRow {
  id: string;
  name: string;
  status: SagaStatus;
  steps: SagaStep[];
  failure: (FailureReason & { section?: string }) | null;
  started_at: Date;
  finished_at: Date | null;
}

export interface SectionRow {
  code: string;
  course: string;
  course_name?: string;
  term: string;
  capacity: number;
  enrolled: number;
  schedule: unknown;
}

export interface EnrollmentRow {
  id: string;
  student_id: string;
  section: string;
  course: string;
  course_name: string;
  term: string;
  schedule: unknown;
  status: 'active' | 'dropped';
  enrolled_at: Date;
  ended_at: Date | null;
}

export const toRequest = (row: RequestRow): RequestRecord => ({
  id: row.id,
  studentId: row.student_id,
  term: row.term,
  sections: row.sections,
  status: row.status,
  ...(row.error_code ? { error: { code: row.error_code, detail: row.error_detail ?? '' } } : {}),
  acceptedAt: row.accepted_at,
  ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
});

export const toSaga = (row: SagaRow): Saga => ({
  id: row.id,
  status: row.status,
  steps: row.steps,
  ...(row.failure ? { failure: row.failure } : {}),
});

/**
 * A schedule is parsed on every read: a row that does not hold a valid schedule (written by
 * hand, or by a bug) makes the read fail loudly instead of letting an overlap slip through.
 */
export const toSection = (row: SectionRow): Section & SectionFacts => ({
  code: row.code,
  course: row.course,
  course_name: row.course_name ?? row.course,
  term: row.term,
  capacity: row.capacity,
  enrolled: row.enrolled,
  schedule: Schedule.parse(row.schedule),
});

export const toEnrollment = (row: EnrollmentRow): Enrollment => ({
  id: row.id,
  student_id: row.student_id,
  section: row.section,
  course: row.course,
  course_name: row.course_name,
  term: row.term,
  schedule: Schedule.parse(row.schedule),
  status: row.status,
  enrolled_at: row.enrolled_at.toISOString(),
  ...(row.ended_at ? { dropped_at: row.ended_at.toISOString() } : {}),
});

export const json = (sql: Sql | TransactionSql, value: unknown) => sql.json(value as Parameters<Sql['json']>[0]);
