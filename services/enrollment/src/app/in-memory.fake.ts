import type { Enrollment, Meeting, Page, PageRequest, RequestStatus } from '@cupo/contracts';
import type { SectionFacts, StudentFacts, TermFacts } from '../domain/enrollment-rules.js';
import { isFinished, type Saga } from '../domain/saga.js';
import type {
  CatalogStore,
  EnrollmentMetrics,
  FoundRequest,
  NewRequest,
  RequestRecord,
  SagaPrefetch,
  SagaStore,
  SagaUnitOfWork,
  SubmitOutcome,
  SubmittedResponse,
} from './ports.js';

/**
 * In-memory fakes of enrollment's ports for the use cases' unit tests (not a test file: the
 * tests import it). Each keeps the guarantee its PostgreSQL adapter gives: a saga step is
 * atomic (its writes land together when the work returns, nothing of it when it throws),
 * writes are queued and applied in order, a seat is never oversold, an idempotency key is
 * claimed once. It also records what the tests assert: the section locks each transaction took.
 */

export interface FakeSeat {
  id: string;
  studentId: string;
  section: string;
  course: string;
  term: string;
  requestId: string;
  status: 'held' | 'active' | 'released' | 'dropped';
}

interface State {
  students: Map<string, StudentFacts>;
  terms: Map<string, TermFacts>;
  sections: Map<string, SectionFacts>;
  requests: Map<string, RequestRecord>;
  sagas: Map<string, { saga: Saga; startedAt: Date }>;
  keys: Map<string, { requestId: string; fingerprint: string; response: SubmittedResponse }>;
  seats: FakeSeat[];
  outbox: string[];
}

const meeting = (day: Meeting['day'], start = '08:00', end = '09:00'): Meeting[] => [{ day, start, end }];
export { meeting };

export class InMemorySagaStore implements SagaStore {
  state: State = {
    students: new Map(),
    terms: new Map(),
    sections: new Map(),
    requests: new Map(),
    sagas: new Map(),
    keys: new Map(),
    seats: [],
    outbox: [],
  };
  /** One entry per committed or failed saga transaction: the sections it locked. */
  transactions: { requestId: string; sectionLocks: string[]; committed: boolean }[] = [];
  kicks = 0;
  /** Prefetches asked for, in order. */
  prefetches: (SagaPrefetch | undefined)[] = [];
  /** Ignore prefetch hints (as if the store could not use them). */
  ignorePrefetch = false;
  /** Throw (before commit) in the transaction with this index (0-based), once. */
  crashInTransaction: number | undefined;
  private nextSeat = 0;

  addStudent(id: string, active = true) {
    this.state.students.set(id, { id, active });
  }
  addTerm(code: string, open = true) {
    this.state.terms.set(code, { code, open });
  }
  addSection(section: Partial<SectionFacts> & { code: string }) {
    this.state.sections.set(section.code, {
      course: section.code,
      term: 'T1',
      capacity: 10,
      enrolled: 0,
      schedule: meeting('mon'),
      ...section,
    });
  }
  /** A request as submit leaves it: queued, its message in the outbox. */
  addRequest(id: string, studentId: string, sections: string[], term = 'T1'): RequestRecord {
    const request: RequestRecord = { id, studentId, term, sections, status: 'queued', acceptedAt: new Date() };
    this.state.requests.set(id, request);
    return request;
  }
  heldOrActive(section: string) {
    return this.state.seats.filter((s) => s.section === section && (s.status === 'held' || s.status === 'active'));
  }

  async submit(request: NewRequest): Promise<SubmitOutcome> {
    const existing = this.state.keys.get(request.idempotencyKey);
    if (existing) {
      if (existing.fingerprint !== request.fingerprint) return { kind: 'key_reused' };
      return { kind: 'replayed', response: existing.response };
    }
    this.state.keys.set(request.idempotencyKey, { requestId: request.id, fingerprint: request.fingerprint, response: request.response });
    this.addRequest(request.id, request.studentId, request.sections, request.term);
    this.state.outbox.push(request.id);
    this.kicks += 1;
    return { kind: 'accepted', response: request.response };
  }

  async inSaga<T>(requestId: string, work: (unit: SagaUnitOfWork) => Promise<T>, prefetch?: SagaPrefetch): Promise<T | undefined> {
    this.prefetches.push(prefetch);
    const index = this.transactions.length;
    const record = { requestId, sectionLocks: [] as string[], committed: false };
    this.transactions.push(record);
    // The transaction works on a copy that replaces the state only when it commits.
    const tx: State = structuredClone(this.state);
    const found = tx.requests.get(requestId);
    if (!found) return undefined;
    const request = found;
    const pending: (() => void)[] = [];
    const flush = () => pending.splice(0).forEach((write) => write());
    const lock = (section: string) => {
      if (!record.sectionLocks.includes(section)) record.sectionLocks.push(section);
    };
    const seatOf = (code: string) => ({
      section: tx.sections.get(code) && { ...tx.sections.get(code)!, code },
      seats: tx.seats
        .filter((s) => s.studentId === request.studentId && s.term === request.term && (s.status === 'held' || s.status === 'active'))
        .map((s) => ({ section: s.section, course: s.course, schedule: tx.sections.get(s.section)!.schedule })),
    });
    let lockedSeat: string | undefined;
    const hint = this.ignorePrefetch ? undefined : prefetch?.seat;
    if (hint) {
      const open = 'first' in hint ? request.status === 'queued' : request.status === 'queued' || request.status === 'processing';
      if (open) {
        lockedSeat = 'first' in hint ? request.sections[0] : hint.section;
        lock(lockedSeat!);
      }
    }
    const held = lockedSeat;

    const unit: SagaUnitOfWork = {
      request: { ...request },
      saga: tx.sagas.get(requestId),
      lockedSeat,
      saveSaga: (saga) =>
        pending.push(() => {
          const before = tx.sagas.get(requestId);
          tx.sagas.set(requestId, { saga: structuredClone(saga), startedAt: before?.startedAt ?? new Date() });
          if (request.status === 'queued') request.status = 'processing';
        }),
      requestFacts: async () => {
        flush();
        return {
          student: tx.students.get(request.studentId),
          term: tx.terms.get(request.term),
          sections: new Map(
            request.sections.flatMap((code) => (tx.sections.has(code) ? [[code, { ...tx.sections.get(code)!, code }]] : [])),
          ),
        };
      },
      lockSeat: async (code) => {
        if (held !== undefined && held !== code) throw new Error(`already holds ${held}; not locking ${code} too`);
        flush();
        lock(code);
        return seatOf(code);
      },
      takeSeat: (section) =>
        pending.push(() => {
          const row = tx.sections.get(section.code)!;
          // The sections_seats CHECK.
          if (row.enrolled + 1 > row.capacity) throw new Error(`oversold ${section.code}`);
          row.enrolled += 1;
          tx.seats.push({
            id: `seat-${++this.nextSeat}`,
            studentId: request.studentId,
            section: section.code,
            course: section.course,
            term: section.term,
            requestId,
            status: 'held',
          });
        }),
      releaseSeat: (code) => {
        lock(code);
        pending.push(() => {
          const seat = tx.seats.find((s) => s.requestId === requestId && s.section === code && s.status === 'held');
          if (!seat) return;
          seat.status = 'released';
          tx.sections.get(code)!.enrolled -= 1;
        });
      },
      activateSeats: () =>
        pending.push(() => {
          for (const seat of tx.seats) if (seat.requestId === requestId && seat.status === 'held') seat.status = 'active';
        }),
      finish: (outcome) =>
        pending.push(() => {
          request.status = outcome.status;
          if (outcome.status === 'failed') request.error = outcome.error;
          request.finishedAt = new Date();
        }),
    };
    const result = await work(unit);
    flush();
    if (this.crashInTransaction === index) {
      this.crashInTransaction = undefined;
      throw new Error('connection lost before commit');
    }
    const saga = tx.sagas.get(requestId)?.saga;
    if (saga && isFinished(saga.status) && request.status !== 'completed' && request.status !== 'failed') {
      throw new Error('a finished saga must finish its request in the same transaction');
    }
    this.state = tx;
    record.committed = true;
    return result;
  }

  async findRequest(id: string): Promise<FoundRequest | undefined> {
    const request = this.state.requests.get(id);
    return request && { request: { ...request }, saga: this.state.sagas.get(id)?.saga };
  }

  async listStudentRequests(
    studentId: string,
    statuses: readonly RequestStatus[] | undefined,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: FoundRequest[]; next?: string }> {
    const items = [...this.state.requests.values()]
      .filter((r) => r.studentId === studentId && (!statuses || statuses.includes(r.status)))
      .slice(0, page.limit)
      .map((request) => ({ request, saga: this.state.sagas.get(request.id)?.saga }));
    return { items };
  }

  async requeueStalled(): Promise<string[]> {
    return [];
  }
}

export class InMemoryCatalogStore implements Pick<CatalogStore, 'findEnrollment' | 'dropEnrollment' | 'listStudentEnrollments'> {
  enrollments = new Map<string, Enrollment>();
  drops = 0;

  add(enrollment: Partial<Enrollment> & { id: string; student_id: string }): Enrollment {
    const full: Enrollment = {
      section: 'S1',
      course: 'C1',
      course_name: 'Course 1',
      term: 'T1',
      schedule: meeting('mon'),
      status: 'active',
      enrolled_at: new Date(0).toISOString(),
      ...enrollment,
    };
    this.enrollments.set(full.id, full);
    return full;
  }

  async findEnrollment(id: string) {
    const found = this.enrollments.get(id);
    return found && { ...found };
  }

  async dropEnrollment(id: string) {
    const found = this.enrollments.get(id);
    if (!found) return undefined;
    if (found.status === 'active') {
      this.drops += 1;
      this.enrollments.set(id, { ...found, status: 'dropped', dropped_at: new Date().toISOString() });
    }
    return { ...this.enrollments.get(id)! };
  }

  async listStudentEnrollments(studentId: string, term: string | undefined, page: PageRequest): Promise<Page<Enrollment>> {
    const items = [...this.enrollments.values()]
      .filter((e) => e.student_id === studentId && e.status === 'active' && (!term || e.term === term))
      .slice(0, page.limit);
    return { items };
  }
}

/** Metrics that remember what they were told. */
export function recordingMetrics() {
  const submitted: string[] = [];
  const finished: Parameters<EnrollmentMetrics['finished']>[0][] = [];
  const metrics: EnrollmentMetrics = {
    submitted: (outcome) => void submitted.push(outcome),
    finished: (outcome) => void finished.push(outcome),
  };
  return { metrics, submitted, finished };
}
