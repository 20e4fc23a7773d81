import type {
  CreateSectionBody,
  CreateStudentBody,
  Enrollment,
  FailureReason,
  Page,
  PageRequest,
  RosterEntry,
  RequestStatus,
  SagaStatus,
  Section,
  Term,
} from '@cupo/contracts';
import type { SeatFacts, SectionFacts, StudentFacts, TermFacts } from '../domain/enrollment-rules.js';
import type { Saga } from '../domain/saga.js';

export interface RequestRecord {
  id: string;
  studentId: string;
  term: string;
  sections: string[];
  status: RequestStatus;
  error?: FailureReason;
  acceptedAt: Date;
  finishedAt?: Date;
}

export interface SubmittedResponse {
  request_id: string;
  status: 'queued';
  status_url: string;
}

export interface NewRequest {
  id: string;
  studentId: string;
  term: string;
  sections: string[];
  idempotencyKey: string;
  derivedKey: boolean;
  fingerprint: string;
  keyTtlSeconds: number;
  response: SubmittedResponse;
  requestId: string;
}

export type SubmitOutcome =
  | { kind: 'accepted'; response: SubmittedResponse }
  | { kind: 'replayed'; response: SubmittedResponse }
  | { kind: 'key_reused' };

/**
 * One step of a saga, inside one transaction that holds the saga's row lock: everything read
 * here is current, and everything written commits together with the saga's new state.
 */
export interface SagaUnitOfWork {
  request: RequestRecord;
  /** Undefined until the first step plans it. */
  saga: { saga: Saga; startedAt: Date } | undefined;
  saveSaga(saga: Saga): Promise<void>;
  /** Student, term and sections for the checks that take no seat. */
  requestFacts(): Promise<{
    student: StudentFacts | undefined;
    term: TermFacts | undefined;
    sections: Map<string, SectionFacts>;
  }>;
  /** Locks the student's row, then the section's (always in that order), and reads both. */
  lockSeat(section: string): Promise<{ section: SectionFacts | undefined; seats: SeatFacts[] }>;
  takeSeat(section: SectionFacts): Promise<void>;
  releaseSeat(section: string): Promise<void>;
  activateSeats(): Promise<void>;
  finish(outcome: { status: 'completed' } | { status: 'failed'; error: FailureReason }): Promise<void>;
}

export interface SagaSummary {
  saga_id: string;
  name: string;
  status: SagaStatus;
  steps: { name: string; status: string; section?: string }[];
  started_at: string;
  finished_at?: string;
}

export interface EnrollmentStore {
  submit(request: NewRequest): Promise<SubmitOutcome>;
  /** Runs one saga step; undefined if the request does not exist. */
  inSaga<T>(requestId: string, work: (unit: SagaUnitOfWork) => Promise<T>): Promise<T | undefined>;
  findRequest(id: string): Promise<{ request: RequestRecord; saga: Saga | undefined } | undefined>;
  /** A student's requests, newest first, a page at a time; `statuses` narrows them. */
  listStudentRequests(
    studentId: string,
    statuses: readonly RequestStatus[] | undefined,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: { request: RequestRecord; saga: Saga | undefined }[]; next?: string }>;

  listTerms(page: PageRequest): Promise<Page<Term>>;
  listSections(term: string | undefined, page: PageRequest): Promise<Page<Section>>;
  findSection(code: string): Promise<Section | undefined>;
  /** A student's active enrollments by (term, section). */
  listStudentEnrollments(studentId: string, term: string | undefined, page: PageRequest): Promise<Page<Enrollment>>;
  /** The section's active students, or undefined if there is no such section. */
  roster(section: string): Promise<RosterEntry[] | undefined>;
  findEnrollment(id: string): Promise<Enrollment | undefined>;
  /** Drops an active enrollment and frees its seat; returns it as it now is. */
  dropEnrollment(id: string): Promise<Enrollment | undefined>;
  createSection(section: CreateSectionBody): Promise<Section>;
  createStudent(student: CreateStudentBody): Promise<{ id: string; name: string; email: string; active: boolean }>;

  /** Requests left queued/processing longer than `staleMs` are touched and re-announced. */
  requeueStalled(staleMs: number, limit: number): Promise<string[]>;
  purgeExpiredKeys(): Promise<number>;
  /** Requests not finished yet, and how long the least recently progressed one has waited. */
  openRequests(): Promise<{ count: number; oldestSeconds: number }>;

  stats(): Promise<{
    requests: Record<string, number>;
    sagas: Record<string, number>;
    idempotency: { entries: number; sample_keys: string[] };
    outbox: { pending: number; oldest_seconds: number };
  }>;
  /** Newest first. */
  listSagas(status: SagaStatus | undefined, page: PageRequest): Promise<Page<SagaSummary>>;
  purgeSagas(status: SagaStatus, olderThanSeconds: number): Promise<number>;
  forgetIdempotencyKey(key: string): Promise<boolean>;
}

/** What the use cases report; prom-client stays in the adapters. */
export interface EnrollmentMetrics {
  submitted(outcome: SubmitOutcome['kind']): void;
  finished(outcome: {
    status: 'completed' | 'failed';
    code?: string;
    acceptedAt: Date;
    sagaStartedAt?: Date;
    compensations: number;
  }): void;
}
