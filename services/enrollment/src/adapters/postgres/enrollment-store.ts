import {
  EnrollmentJobs,
  Schedule,
  SectionCode,
  TermCode,
  type CreateSectionBody,
  type CreateStudentBody,
  type Enrollment,
  type FailureReason,
  type Page,
  type PageRequest,
  type RequestStatus,
  type SagaStatus,
  type RosterEntry,
  type Section,
  type Term,
} from '@cupo/contracts';
import { Keyset } from '@cupo/paging';
import { z } from 'zod';
import { isUniqueViolation, type Sql, type TransactionSql } from '@cupo/database';
import { outboxHeaders } from '@cupo/outbox';
import type {
  EnrollmentStore,
  NewRequest,
  RequestRecord,
  SagaSummary,
  SagaUnitOfWork,
  SubmitOutcome,
  SubmittedResponse,
} from '../../app/ports.js';
import type { SeatFacts, SectionFacts } from '../../domain/enrollment-rules.js';
import { SagaNotFinishedError, SectionExistsError, StudentExistsError, TermNotFoundError } from '../../domain/errors.js';
import type { Saga, SagaStep } from '../../domain/saga.js';

// Each list's sort key, ending in a unique column. Timestamps keep PostgreSQL's microseconds
// (a Date would round them, and the next page would repeat or skip rows of one millisecond),
// so they are read with to_char and sent back as text (porsager sends a timestamptz
// parameter through a Date).
// Cursor keys are checked against what the columns hold: a forged cursor is a 400, never odd SQL input.
const TERMS = new Keyset('terms', z.tuple([TermCode]));
const SECTIONS = new Keyset('sections', z.tuple([TermCode, SectionCode]));
const STUDENT_ENROLLMENTS = new Keyset('student-enrollments', z.tuple([TermCode, SectionCode]));
const REQUESTS = new Keyset('requests', z.tuple([z.iso.datetime({ precision: 6 }), z.uuid()]));
const SAGAS = new Keyset('sagas', z.tuple([z.iso.datetime({ precision: 6 }), z.uuid()]));

interface RequestRow {
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

interface SagaRow {
  id: string;
  name: string;
  status: SagaStatus;
  steps: SagaStep[];
  failure: (FailureReason & { section?: string }) | null;
  started_at: Date;
  finished_at: Date | null;
}

interface SectionRow {
  code: string;
  course: string;
  course_name?: string;
  term: string;
  capacity: number;
  enrolled: number;
  schedule: unknown;
}

interface EnrollmentRow {
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

const toRequest = (row: RequestRow): RequestRecord => ({
  id: row.id,
  studentId: row.student_id,
  term: row.term,
  sections: row.sections,
  status: row.status,
  ...(row.error_code ? { error: { code: row.error_code, detail: row.error_detail ?? '' } } : {}),
  acceptedAt: row.accepted_at,
  ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
});

const toSaga = (row: SagaRow): Saga => ({
  id: row.id,
  status: row.status,
  steps: row.steps,
  ...(row.failure ? { failure: row.failure } : {}),
});

/**
 * A schedule is parsed on every read: a row that does not hold a valid schedule (written by
 * hand, or by a bug) makes the read fail loudly instead of letting an overlap slip through.
 */
const toSection = (row: SectionRow): Section & SectionFacts => ({
  code: row.code,
  course: row.course,
  course_name: row.course_name ?? row.course,
  term: row.term,
  capacity: row.capacity,
  enrolled: row.enrolled,
  schedule: Schedule.parse(row.schedule),
});

const toEnrollment = (row: EnrollmentRow): Enrollment => ({
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

const json = (sql: Sql | TransactionSql, value: unknown) => sql.json(value as Parameters<Sql['json']>[0]);

/**
 * All of enrollment's SQL. Seats are taken under row locks (`SELECT … FOR UPDATE` on the
 * student, then the section — always that order, so two steps never wait on each other in
 * a cycle); the `sections_seats` CHECK stops an oversell even if a check were wrong.
 */
export class PostgresEnrollmentStore implements EnrollmentStore {
  constructor(
    private readonly sql: Sql,
    /** How long a derived key outlives its request's end (see finish). */
    private readonly derivedKeyGraceSeconds = 10,
  ) {}

  async submit(request: NewRequest): Promise<SubmitOutcome> {
    const message = this.outboxRow(request.id, request.requestId);
    // One statement, so one round trip and atomic without BEGIN/COMMIT. Claiming the key
    // first serialises parallel duplicates on its unique index: the second waits for the
    // first to commit, then finds its key taken (an expired key is taken over instead).
    // Only when the key was claimed do the request and its outbox message get written.
    const [row] = await this.sql<{ claimed: number }[]>`
      WITH claimed AS (
        INSERT INTO idempotency_keys (key, request_id, fingerprint, derived, response, expires_at)
        VALUES (${request.idempotencyKey}, ${request.id}, ${request.fingerprint}, ${request.derivedKey},
                ${json(this.sql, request.response)}, now() + make_interval(secs => ${request.keyTtlSeconds}))
        ON CONFLICT (key) DO UPDATE
          SET request_id = excluded.request_id, fingerprint = excluded.fingerprint,
              derived = excluded.derived, response = excluded.response,
              created_at = now(), expires_at = excluded.expires_at
          WHERE idempotency_keys.expires_at <= now()
        RETURNING request_id
      ), inserted AS (
        INSERT INTO enrollment_requests (id, student_id, term, sections)
        SELECT request_id, ${request.studentId}, ${request.term}, ${request.sections}::text[] FROM claimed
        RETURNING id
      ), announced AS (
        INSERT INTO outbox (exchange, routing_key, payload, headers)
        SELECT ${message.exchange}, ${message.routing_key}, ${json(this.sql, message.payload)}, ${json(this.sql, message.headers)}
        FROM inserted
        RETURNING id
      )
      SELECT count(*)::int AS claimed FROM announced`;
    if (row && row.claimed > 0) return { kind: 'accepted', response: request.response };
    // Not claimed: the key is someone's live key. Read it now (a new snapshot sees it).
    const [existing] = await this.sql<{ fingerprint: string; response: SubmittedResponse }[]>`
      SELECT fingerprint, response FROM idempotency_keys WHERE key = ${request.idempotencyKey}`;
    if (!existing) throw new Error('idempotency key neither claimed nor found');
    if (existing.fingerprint !== request.fingerprint) return { kind: 'key_reused' };
    return { kind: 'replayed', response: existing.response };
  }

  private outboxRow(id: string, requestId?: string) {
    return {
      exchange: EnrollmentJobs.exchange,
      routing_key: EnrollmentJobs.requested,
      payload: { request_id: id },
      headers: outboxHeaders({ 'x-request-id': requestId ?? id }),
    };
  }

  /** Writes "process this request" to the outbox; the relay publishes it after commit. */
  private async announce(tx: TransactionSql, requestIds: string[], requestId?: string): Promise<void> {
    if (requestIds.length === 0) return;
    const rows = requestIds.map((id) => this.outboxRow(id, requestId));
    await tx`
      INSERT INTO outbox (exchange, routing_key, payload, headers)
      SELECT exchange, routing_key, payload, headers
      FROM jsonb_to_recordset(${json(tx, rows)}) AS r(exchange text, routing_key text, payload jsonb, headers jsonb)`;
  }

  async inSaga<T>(requestId: string, work: (unit: SagaUnitOfWork) => Promise<T>): Promise<T | undefined> {
    return this.sql.begin(async (tx) => {
      // The request row is the saga's mutex: every step of this request queues here. The
      // saga is read by a second statement (pipelined, so still one round trip) and not
      // joined into the first: under READ COMMITTED a row lock that had to wait re-reads
      // only the locked row, and a joined saga would be the stale one from before the wait.
      const [requests, sagas] = await Promise.all([
        tx<RequestRow[]>`SELECT * FROM enrollment_requests WHERE id = ${requestId} FOR UPDATE`,
        tx<SagaRow[]>`SELECT * FROM sagas WHERE id = ${requestId}`,
      ]);
      const [row] = requests;
      if (!row) return undefined;
      const request = toRequest(row);
      const sagaRow = sagas[0];
      const unit: SagaUnitOfWork = {
        request,
        saga: sagaRow ? { saga: toSaga(sagaRow), startedAt: sagaRow.started_at } : undefined,
        saveSaga: async (saga) => {
          const finished = ['completed', 'compensated', 'failed'].includes(saga.status);
          await tx`
            WITH saved AS (
              INSERT INTO sagas (id, name, status, steps, failure, finished_at)
              VALUES (${saga.id}, ${`enrollment_${request.studentId}`}, ${saga.status}, ${json(tx, saga.steps)},
                      ${saga.failure ? json(tx, saga.failure) : null}, ${finished ? tx`now()` : null})
              ON CONFLICT (id) DO UPDATE
                SET status = excluded.status, steps = excluded.steps, failure = excluded.failure,
                    updated_at = now(), finished_at = excluded.finished_at
              RETURNING id
            )
            UPDATE enrollment_requests
            SET status = CASE WHEN status = 'queued' THEN 'processing' ELSE status END, updated_at = now()
            WHERE id = (SELECT id FROM saved)`;
        },
        requestFacts: async () => {
          // Sent together (porsager pipelines queries not awaited in between): one round trip.
          const [students, terms, rows] = await Promise.all([
            tx<{ id: string; active: boolean }[]>`SELECT id, active FROM students WHERE id = ${request.studentId}`,
            tx<{ code: string; open: boolean }[]>`SELECT code, open FROM terms WHERE code = ${request.term}`,
            tx<SectionRow[]>`SELECT * FROM sections WHERE code IN ${tx(request.sections)}`,
          ]);
          return {
            student: students[0],
            term: terms[0],
            sections: new Map(rows.map((section) => [section.code, toSection(section)])),
          };
        },
        lockSeat: async (code) => {
          // Pipelined, but run in order by the server: the student's row lock is taken
          // before the section's, always.
          const [, sections, seats] = await Promise.all([
            tx`SELECT 1 FROM students WHERE id = ${request.studentId} FOR UPDATE`,
            tx<SectionRow[]>`SELECT * FROM sections WHERE code = ${code} FOR UPDATE`,
            tx<(SeatFacts & { schedule: unknown })[]>`
              SELECT e.section, e.course, s.schedule
              FROM enrollments e JOIN sections s ON s.code = e.section
              WHERE e.student_id = ${request.studentId} AND e.term = ${request.term}
                AND e.status IN ('held', 'active')`,
          ]);
          const row = sections[0];
          return {
            section: row ? toSection(row) : undefined,
            seats: seats.map((seat) => ({ ...seat, schedule: Schedule.parse(seat.schedule) })),
          };
        },
        takeSeat: async (section) => {
          await tx`
            WITH seat AS (UPDATE sections SET enrolled = enrolled + 1 WHERE code = ${section.code} RETURNING code)
            INSERT INTO enrollments (id, student_id, section, course, term, request_id, status)
            SELECT gen_random_uuid(), ${request.studentId}, code, ${section.course}, ${section.term}, ${requestId}, 'held'
            FROM seat`;
        },
        releaseSeat: async (code) => {
          // Guarded by the held row: a release that already happened changes nothing.
          const releasedRows = await tx`
            UPDATE enrollments SET status = 'released', ended_at = now()
            WHERE request_id = ${requestId} AND section = ${code} AND status = 'held'
            RETURNING id`;
          if (releasedRows.count > 0) {
            await tx`UPDATE sections SET enrolled = enrolled - 1 WHERE code = ${code}`;
          }
        },
        activateSeats: async () => {
          await tx`
            UPDATE enrollments SET status = 'active', enrolled_at = now()
            WHERE request_id = ${requestId} AND status = 'held'`;
        },
        finish: async (outcome) => {
          const error = outcome.status === 'failed' ? outcome.error : undefined;
          // A derived key guards against duplicates in flight (and, for a short grace, the
          // ones that arrive just after the answer): after that the same sections may be
          // asked for again — a seat may have opened.
          await tx`
            WITH keys AS (
              UPDATE idempotency_keys
              SET expires_at = LEAST(expires_at, now() + make_interval(secs => ${this.derivedKeyGraceSeconds}))
              WHERE request_id = ${requestId} AND derived
            )
            UPDATE enrollment_requests
            SET status = ${outcome.status}, error_code = ${error?.code ?? null},
                error_detail = ${error?.detail ?? null}, finished_at = now(), updated_at = now()
            WHERE id = ${requestId}`;
        },
      };
      return work(unit);
    }) as Promise<T | undefined>;
  }

  async findRequest(id: string) {
    const [row] = await this.sql<RequestRow[]>`SELECT * FROM enrollment_requests WHERE id = ${id}`;
    if (!row) return undefined;
    const [saga] = await this.sql<SagaRow[]>`SELECT * FROM sagas WHERE id = ${id}`;
    return { request: toRequest(row), saga: saga ? toSaga(saga) : undefined };
  }

  /**
   * A student's requests, newest first by (accepted_at, id): a range scan of
   * enrollment_requests_by_student from the cursor on, with each request's saga beside it.
   * The cursor's time keeps PostgreSQL's microseconds (a Date would round them and the next
   * page could repeat or skip a request).
   */
  async listStudentRequests(
    studentId: string,
    statuses: readonly RequestStatus[] | undefined,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: { request: RequestRecord; saga: Saga | undefined }[]; next?: string }> {
    const after = REQUESTS.decode(page.cursor);
    const rows = await this.sql<(RequestRow & { cursor_at: string; saga: SagaRow | null })[]>`
      SELECT r.*, to_char(r.accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
             (SELECT to_jsonb(s) FROM sagas s WHERE s.id = r.id) AS saga
      FROM enrollment_requests r
      WHERE r.student_id = ${studentId}
        ${statuses ? this.sql`AND r.status IN ${this.sql(statuses)}` : this.sql``}
        ${after ? this.sql`AND (r.accepted_at, r.id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : this.sql``}
      ORDER BY r.accepted_at DESC, r.id DESC
      LIMIT ${page.limit + 1}`;
    return REQUESTS.page(
      rows,
      page.limit,
      (row) => [row.cursor_at, row.id],
      (row) => ({ request: toRequest(row), saga: row.saga ? toSaga(row.saga) : undefined }),
    );
  }

  /** By code: each page a primary-key range scan from the cursor on. */
  async listTerms(page: PageRequest): Promise<Page<Term>> {
    const after = TERMS.decode(page.cursor);
    const rows = await this.sql<Term[]>`
      SELECT code, name, open FROM terms
      ${after ? this.sql`WHERE code > ${after[0]}` : this.sql``}
      ORDER BY code LIMIT ${page.limit + 1}`;
    return TERMS.page(rows, page.limit, (term) => [term.code], (term) => ({ ...term }));
  }

  /** By (term, code), in one term or all: either way a range scan of sections_term. */
  async listSections(term: string | undefined, page: PageRequest): Promise<Page<Section>> {
    const after = SECTIONS.decode(page.cursor);
    const rows = await this.sql<SectionRow[]>`
      SELECT code, course, (SELECT name FROM courses WHERE courses.code = sections.course) AS course_name, term, capacity, enrolled, schedule FROM sections
      WHERE true
        ${term ? this.sql`AND term = ${term}` : this.sql``}
        ${after ? this.sql`AND (term, code) > (${after[0]}, ${after[1]})` : this.sql``}
      ORDER BY term, code LIMIT ${page.limit + 1}`;
    return SECTIONS.page(rows, page.limit, (row) => [row.term, row.code], toSection);
  }

  async findSection(code: string): Promise<Section | undefined> {
    const [row] = await this.sql<SectionRow[]>`
      SELECT code, course, (SELECT name FROM courses WHERE courses.code = sections.course) AS course_name, term, capacity, enrolled, schedule
      FROM sections WHERE code = ${code}`;
    return row ? toSection(row) : undefined;
  }

  /** By (term, section): a range scan of enrollments_student_active_page. */
  async listStudentEnrollments(studentId: string, term: string | undefined, page: PageRequest): Promise<Page<Enrollment>> {
    const after = STUDENT_ENROLLMENTS.decode(page.cursor);
    const rows = await this.sql<EnrollmentRow[]>`
      SELECT e.id, e.student_id, e.section, e.course, (SELECT name FROM courses WHERE courses.code = e.course) AS course_name, e.term, s.schedule, e.status,
             e.enrolled_at, e.ended_at
      FROM enrollments e JOIN sections s ON s.code = e.section
      WHERE e.student_id = ${studentId} AND e.status = 'active'
        ${term ? this.sql`AND e.term = ${term}` : this.sql``}
        ${after ? this.sql`AND (e.term, e.section) > (${after[0]}, ${after[1]})` : this.sql``}
      ORDER BY e.term, e.section LIMIT ${page.limit + 1}`;
    return STUDENT_ENROLLMENTS.page(rows, page.limit, (row) => [row.term, row.section], toEnrollment);
  }

  async roster(section: string): Promise<RosterEntry[] | undefined> {
    const [exists] = await this.sql`SELECT 1 FROM sections WHERE code = ${section}`;
    if (!exists) return undefined;
    const rows = await this.sql<(Omit<RosterEntry, 'enrolled_at'> & { enrolled_at: Date })[]>`
      SELECT s.id AS student_id, s.name, s.email, e.enrolled_at
      FROM enrollments e JOIN students s ON s.id = e.student_id
      WHERE e.section = ${section} AND e.status = 'active'
      ORDER BY s.id`;
    return rows.map((row) => ({ ...row, enrolled_at: row.enrolled_at.toISOString() }));
  }

  async findEnrollment(id: string): Promise<Enrollment | undefined> {
    const [row] = await this.sql<EnrollmentRow[]>`
      SELECT e.id, e.student_id, e.section, e.course, (SELECT name FROM courses WHERE courses.code = e.course) AS course_name, e.term, s.schedule,
             CASE WHEN e.status = 'active' THEN 'active' ELSE 'dropped' END AS status,
             e.enrolled_at, e.ended_at
      FROM enrollments e JOIN sections s ON s.code = e.section
      WHERE e.id = ${id} AND e.status IN ('active', 'dropped')`;
    return row ? toEnrollment(row) : undefined;
  }

  async dropEnrollment(id: string): Promise<Enrollment | undefined> {
    await this.sql.begin(async (tx) => {
      const [row] = await tx<{ section: string }[]>`
        UPDATE enrollments SET status = 'dropped', ended_at = now()
        WHERE id = ${id} AND status = 'active'
        RETURNING section`;
      if (row) await tx`UPDATE sections SET enrolled = enrolled - 1 WHERE code = ${row.section}`;
    });
    return this.findEnrollment(id);
  }

  async createSection(section: CreateSectionBody): Promise<Section> {
    try {
      return await this.sql.begin(async (tx) => {
        const [term] = await tx`SELECT 1 FROM terms WHERE code = ${section.term}`;
        if (!term) throw new TermNotFoundError(section.term);
        await tx`INSERT INTO courses (code, name) VALUES (${section.course}, ${section.course}) ON CONFLICT DO NOTHING`;
        const [row] = await tx<SectionRow[]>`
          INSERT INTO sections (code, course, term, capacity, schedule)
          VALUES (${section.code}, ${section.course}, ${section.term}, ${section.capacity}, ${json(tx, section.schedule)})
          RETURNING code, course, term, capacity, enrolled, schedule`;
        const [course] = await tx<{ name: string }[]>`SELECT name FROM courses WHERE code = ${section.course}`;
        return toSection({ ...row!, course_name: course!.name });
      }) as Section;
    } catch (error) {
      if (isUniqueViolation(error, 'sections_pkey')) throw new SectionExistsError(section.code);
      throw error;
    }
  }

  async createStudent(student: CreateStudentBody) {
    try {
      const [row] = await this.sql<{ id: string; name: string; email: string; active: boolean }[]>`
        INSERT INTO students (id, name, email) VALUES (${student.id}, ${student.name}, ${student.email})
        RETURNING id, name, email, active`;
      return row!;
    } catch (error) {
      if (isUniqueViolation(error, 'students_pkey')) throw new StudentExistsError(student.id);
      throw error;
    }
  }

  async requeueStalled(staleMs: number, limit: number): Promise<string[]> {
    return this.sql.begin(async (tx) => {
      const rows = await tx<{ id: string }[]>`
        UPDATE enrollment_requests SET updated_at = now()
        WHERE id IN (
          SELECT id FROM enrollment_requests
          WHERE status IN ('queued', 'processing')
            AND updated_at < now() - make_interval(secs => ${staleMs / 1000})
          ORDER BY updated_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id`;
      const ids = rows.map((row) => row.id);
      await this.announce(tx, ids);
      return ids;
    }) as Promise<string[]>;
  }

  async purgeExpiredKeys(): Promise<number> {
    const result = await this.sql`DELETE FROM idempotency_keys WHERE expires_at <= now()`;
    return result.count;
  }

  async openRequests() {
    const [row] = await this.sql<{ count: number; oldest_seconds: number }[]>`
      SELECT count(*)::int AS count,
             coalesce(extract(epoch FROM now() - min(updated_at)), 0)::float8 AS oldest_seconds
      FROM enrollment_requests WHERE status IN ('queued', 'processing')`;
    return { count: row?.count ?? 0, oldestSeconds: row?.oldest_seconds ?? 0 };
  }

  async stats() {
    // Four reads sent together (porsager pipelines them): one round trip.
    const [requests, sagas, [keys], [outbox]] = await Promise.all([
      this.sql<{ status: string; count: number }[]>`
        SELECT status, count(*)::int AS count FROM enrollment_requests GROUP BY status`,
      this.sql<{ status: string; count: number }[]>`SELECT status, count(*)::int AS count FROM sagas GROUP BY status`,
      this.sql<{ entries: number; sample: string[] | null }[]>`
        SELECT count(*)::int AS entries,
               (SELECT array_agg(key) FROM (SELECT key FROM idempotency_keys WHERE expires_at > now()
                                            ORDER BY created_at DESC LIMIT 5) k) AS sample
        FROM idempotency_keys WHERE expires_at > now()`,
      this.sql<{ pending: number; oldest_seconds: number }[]>`
        SELECT count(*)::int AS pending,
               coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
        FROM outbox`,
    ]);
    const byStatus = (rows: { status: string; count: number }[], all: readonly string[]) =>
      Object.fromEntries(all.map((status) => [status, rows.find((r) => r.status === status)?.count ?? 0]));
    return {
      requests: byStatus(requests, ['queued', 'processing', 'completed', 'failed']),
      sagas: byStatus(sagas, ['running', 'compensating', 'completed', 'compensated', 'failed']),
      idempotency: { entries: keys?.entries ?? 0, sample_keys: keys?.sample ?? [] },
      outbox: outbox ?? { pending: 0, oldest_seconds: 0 },
    };
  }

  /** Newest first by (started_at, id): a backward range scan of sagas_page or sagas_by_status_page. */
  async listSagas(status: SagaStatus | undefined, page: PageRequest): Promise<Page<SagaSummary>> {
    const after = SAGAS.decode(page.cursor);
    const rows = await this.sql<(SagaRow & { cursor_at: string })[]>`
      SELECT *, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM sagas
      WHERE true
        ${status ? this.sql`AND status = ${status}` : this.sql``}
        ${after ? this.sql`AND (started_at, id) < (${after[0]}::text::timestamptz, ${after[1]}::uuid)` : this.sql``}
      ORDER BY started_at DESC, id DESC LIMIT ${page.limit + 1}`;
    return SAGAS.page(rows, page.limit, (row) => [row.cursor_at, row.id], (row) => ({
      saga_id: row.id,
      name: row.name,
      status: row.status,
      steps: row.steps.map((step) => ({
        name: step.section ? `${step.name}:${step.section}` : step.name,
        status: step.status,
        ...(step.section ? { section: step.section } : {}),
      })),
      started_at: row.started_at.toISOString(),
      ...(row.finished_at ? { finished_at: row.finished_at.toISOString() } : {}),
    }));
  }

  async purgeSagas(status: SagaStatus, olderThanSeconds: number): Promise<number> {
    if (!['completed', 'compensated', 'failed'].includes(status)) {
      throw new SagaNotFinishedError();
    }
    const result = await this.sql`
      DELETE FROM sagas
      WHERE status = ${status} AND finished_at < now() - make_interval(secs => ${olderThanSeconds})`;
    return result.count;
  }

  async forgetIdempotencyKey(key: string): Promise<boolean> {
    const result = await this.sql`DELETE FROM idempotency_keys WHERE key = ${key}`;
    return result.count > 0;
  }
}
