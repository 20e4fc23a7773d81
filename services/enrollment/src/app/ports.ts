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
 * Reads the store sends with the saga's lock, in the same round trip, when the caller can
 * tell what the step will need. Only ever a hint: the unit answers from it when it fits and
 * reads again otherwise.
 */
export interface SagaPrefetch {
  /** The student, term and sections (the validate step); read only while the request is queued. */
  facts?: boolean;
  /**
   * Lock this seat (the student's row, then the section's) with the saga: a section, or the
   * request's first one — taken only while the request is still queued, when that is surely
   * the first seat its saga asks for.
   */
  seat?: { section: string } | { first: true };
}

/**
 * One step of a saga, inside one transaction that holds the saga's row lock: everything read
 * here is current, and everything written commits together with the saga's new state.
 *
 * Writes are queued, not sent: they go out together, in the order they were made, with the
 * next read or before the commit (one round trip), and a failure among them rolls the whole
 * transaction back.
 */
export interface SagaUnitOfWork {
  request: RequestRecord;
  /** Undefined until the first step plans it. */
  saga: { saga: Saga; startedAt: Date } | undefined;
  /**
   * The section whose seat this transaction already holds locked (prefetched), if any. A
   * transaction locks at most one section: no other seat may be locked or released in it.
   */
  lockedSeat: string | undefined;
  saveSaga(saga: Saga): void;
  /** Student, term and sections for the checks that take no seat. */
  requestFacts(): Promise<{
    student: StudentFacts | undefined;
    term: TermFacts | undefined;
    sections: Map<string, SectionFacts>;
  }>;
  /** Locks the student's row, then the section's (always in that order), and reads both. */
  lockSeat(section: string): Promise<{ section: SectionFacts | undefined; seats: SeatFacts[] }>;
  takeSeat(section: SectionFacts): void;
  releaseSeat(section: string): void;
  activateSeats(): void;
  finish(outcome: { status: 'completed' } | { status: 'failed'; error: FailureReason }): void;
}

export interface SagaSummary {
  saga_id: string;
  name: string;
  status: SagaStatus;
  steps: { name: string; status: string; section?: string }[];
  started_at: string;
  finished_at?: string;
}

export interface FoundRequest {
  request: RequestRecord;
  saga: Saga | undefined;
}

/**
 * Enrollment requests and their sagas: what a request's path reads and writes. A method that
 * writes to the outbox wakes the relay itself, after its own commit.
 */
export interface SagaStore {
  /** Records the request, its idempotency key and its "process it" message together. */
  submit(request: NewRequest): Promise<SubmitOutcome>;
  /** Runs one saga step in one transaction; undefined if the request does not exist. */
  inSaga<T>(requestId: string, work: (unit: SagaUnitOfWork) => Promise<T>, prefetch?: SagaPrefetch): Promise<T | undefined>;
  findRequest(id: string): Promise<FoundRequest | undefined>;
  /** A student's requests, newest first, a page at a time; `statuses` narrows them. */
  listStudentRequests(
    studentId: string,
    statuses: readonly RequestStatus[] | undefined,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: FoundRequest[]; next?: string }>;
  /** Requests left queued/processing longer than `staleMs` are touched and re-announced. */
  requeueStalled(staleMs: number, limit: number): Promise<string[]>;
}

/** Terms, sections, students and their enrollments. */
export interface CatalogStore {
  listTerms(page: PageRequest): Promise<Page<Term>>;
  listSections(term: string | undefined, page: PageRequest): Promise<Page<Section>>;
  findSection(code: string): Promise<Section | undefined>;
  createSection(section: CreateSectionBody): Promise<Section>;
  createStudent(student: CreateStudentBody): Promise<{ id: string; name: string; email: string; active: boolean }>;
  /** A student's active enrollments by (term, section). */
  listStudentEnrollments(studentId: string, term: string | undefined, page: PageRequest): Promise<Page<Enrollment>>;
  findEnrollment(id: string): Promise<Enrollment | undefined>;
  /** Drops an active enrollment and frees its seat; returns it as it now is. */
  dropEnrollment(id: string): Promise<Enrollment | undefined>;
}

export interface EnrollmentStats {
  requests: Record<string, number>;
  sagas: Record<string, number>;
  idempotency: { entries: number; sample_keys: string[]; estimated?: boolean };
  outbox: { pending: number; oldest_seconds: number };
}

/** What admins, reports, metrics and the periodic jobs read and clean up. */
export interface OpsStore {
  /** The section's active students, or undefined if there is no such section. */
  roster(section: string): Promise<RosterEntry[] | undefined>;
  stats(): Promise<EnrollmentStats>;
  /** Requests not finished yet, and how long the least recently progressed one has waited. */
  openRequests(): Promise<{ count: number; oldestSeconds: number }>;
  /** Newest first. */
  listSagas(status: SagaStatus | undefined, page: PageRequest): Promise<Page<SagaSummary>>;
  /** Deletes finished sagas of `status` older than that; refuses a status that is not finished. */
  /** Purges finished sagas in batches until none is left or `until` (epoch ms); `complete: false`: ask again. */
  purgeSagas(status: SagaStatus, olderThanSeconds: number, until: number): Promise<{ purged: number; complete: boolean }>;
  /** Deletes expired idempotency keys in bounded batches, a bounded number a pass; returns how many. */
  purgeExpiredKeys(batch?: number, maxBatches?: number): Promise<number>;
  /** Folds the status deltas the database's triggers appended into the totals stats() reads; returns how many. */
  foldCounts(): Promise<number>;
  forgetIdempotencyKey(key: string): Promise<boolean>;
}

/** What the use cases report; prom-client stays in the adapters. */
export interface EnrollmentMetrics {
  submitted(outcome: SubmitOutcome['kind']): void;
  finished(outcome: { status: 'completed' | 'failed'; code?: string; acceptedAt: Date; sagaStartedAt?: Date; compensations: number }): void;
}
