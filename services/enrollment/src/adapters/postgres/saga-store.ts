import { EnrollmentJobs, Schedule, type RequestStatus } from '@cupo/contracts';
import type { Sql, TransactionSql } from '@cupo/database';
import { outboxHeaders, type OutboxKick } from '@cupo/outbox';
import type {
  FoundRequest,
  NewRequest,
  SagaPrefetch,
  SagaStore,
  SagaUnitOfWork,
  SubmitOutcome,
  SubmittedResponse,
} from '../../app/ports.js';
import type { SeatFacts, SectionFacts, StudentFacts, TermFacts } from '../../domain/enrollment-rules.js';
import { isFinished } from '../../domain/saga.js';
import { REQUESTS, json, toRequest, toSaga, toSection, type RequestRow, type SagaRow, type SectionRow } from './rows.js';

type SeatRow = SeatFacts & { schedule: unknown };
/** A query not sent yet: `execute()` sends it. */
type PendingQuery = PromiseLike<unknown> & { execute(): PromiseLike<unknown> };
type Facts = { student: StudentFacts | undefined; term: TermFacts | undefined; sections: Map<string, SectionFacts> };
type Seat = { section: SectionFacts | undefined; seats: SeatFacts[] };

const OPEN: readonly RequestStatus[] = ['queued', 'processing'];

/**
 * Requests and their sagas. Seats are taken under row locks (`SELECT … FOR UPDATE` on the
 * request, then the student, then the section — always that order, so two steps never wait on
 * each other in a cycle); the `sections_seats` CHECK stops an oversell even if a check were wrong.
 *
 * Round trips are what a request pays for: a saga step is four — BEGIN, one pipelined round of
 * reads (the lock and, when the caller can tell, the step's facts and seat lock), one
 * pipelined round of writes, COMMIT. Pipelined statements still run one after the other on
 * the server, each with its own snapshot, so every read after the lock sees the rows as they
 * are now. (BEGIN and COMMIT could ride with the reads and the writes on a reserved
 * connection, but porsager puts a reserved connection that closed back into its pool when it
 * is released: sql.begin is the one it cleans up after.)
 */
export class PostgresSagaStore implements SagaStore {
  constructor(
    private readonly sql: Sql,
    /** Woken after a commit that wrote to the outbox. */
    private readonly relay: OutboxKick,
    /** How long a derived key outlives its request's end (see finish). */
    private readonly derivedKeyGraceSeconds = 10,
  ) {}

  async submit(request: NewRequest): Promise<SubmitOutcome> {
    // The writer's trace context travels with the row, so the relay publishes inside its trace.
    const headers = outboxHeaders({ 'x-request-id': request.requestId });
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
        SELECT ${EnrollmentJobs.exchange}, ${EnrollmentJobs.requested}, jsonb_build_object('request_id', id), ${json(this.sql, headers)}
        FROM inserted
        RETURNING id
      )
      SELECT count(*)::int AS claimed FROM announced`;
    if (row && row.claimed > 0) {
      this.relay.kick();
      return { kind: 'accepted', response: request.response };
    }
    // Not claimed: the key is someone's live key. Read it now (a new snapshot sees it).
    const [existing] = await this.sql<{ fingerprint: string; response: SubmittedResponse }[]>`
      SELECT fingerprint, response FROM idempotency_keys WHERE key = ${request.idempotencyKey}`;
    if (!existing) throw new Error('idempotency key neither claimed nor found');
    if (existing.fingerprint !== request.fingerprint) return { kind: 'key_reused' };
    return { kind: 'replayed', response: existing.response };
  }

  async inSaga<T>(requestId: string, work: (unit: SagaUnitOfWork) => Promise<T>, prefetch: SagaPrefetch = {}): Promise<T | undefined> {
    return this.sql.begin(async (tx) => {
      // The request row is the saga's mutex: every step of this request queues here. Everything
      // else is read by statements of their own sent in the same round trip, not joined into
      // the first: under READ COMMITTED a row lock that had to wait re-reads only the locked
      // row, and a joined saga would be the stale one from before the wait. The prefetched
      // reads find the request's student, term and sections by subquery (those never change)
      // and are guarded by its status, which the lock makes current.
      const request = tx`
        SELECT id, student_id, term, sections FROM enrollment_requests
        WHERE id = ${requestId} AND status = 'queued'`;
      // A porsager query is sent when it is first awaited (or executed), so each is executed
      // here, in the order the server must run them: the lock, then the rest.
      const seat = prefetch.seat;
      const requests = tx<RequestRow[]>`SELECT * FROM enrollment_requests WHERE id = ${requestId} FOR UPDATE`.execute();
      const sagas = tx<SagaRow[]>`SELECT * FROM sagas WHERE id = ${requestId}`.execute();
      const facts = prefetch.facts
        ? inOrder([
            tx<StudentFacts[]>`SELECT s.id, s.active FROM students s JOIN (${request}) r ON s.id = r.student_id`.execute(),
            tx<TermFacts[]>`SELECT t.code, t.open FROM terms t JOIN (${request}) r ON t.code = r.term`.execute(),
            tx<SectionRow[]>`SELECT s.* FROM sections s JOIN (${request}) r ON s.code = ANY (r.sections)`.execute(),
          ] as const)
        : undefined;
      const locked = seat
        ? this.lockSeatReads(
            tx,
            requestId,
            'first' in seat ? tx`(SELECT sections[1] FROM enrollment_requests WHERE id = ${requestId})` : tx`${seat.section}`,
            'first' in seat ? ['queued'] : OPEN,
          )
        : undefined;
      // All awaited together: every one has a handler, whichever fails first.
      const [[row], [sagaRow], factRows, lockedRows] = await Promise.all([requests, sagas, facts, locked]);
      if (!row) return undefined;
      const current = toRequest(row);

      // Writes wait here and go out together with the next read, or before the commit.
      const pending: PendingQuery[] = [];
      const sendPending = () => pending.splice(0).map((write) => write.execute());
      const withPending = async <R>(read: () => Promise<R>): Promise<R> => {
        const writes = sendPending(); // sent before the read, which may depend on them
        const [, result] = await Promise.all([Promise.all(writes), read()]);
        return result;
      };
      const prefetchedFacts = current.status === 'queued' && factRows ? toFacts(factRows) : undefined;
      const lockedSection =
        seat && lockedRows && ('first' in seat ? current.status === 'queued' : OPEN.includes(current.status))
          ? 'first' in seat
            ? current.sections[0]
            : seat.section
          : undefined;
      let heldSeat: { section: string; seat: Seat } | undefined =
        lockedSection !== undefined && lockedRows ? { section: lockedSection, seat: toSeat(lockedRows) } : undefined;

      const unit: SagaUnitOfWork = {
        request: current,
        saga: sagaRow ? { saga: toSaga(sagaRow), startedAt: sagaRow.started_at } : undefined,
        lockedSeat: heldSeat?.section,
        saveSaga: (saga) => {
          pending.push(tx`
            WITH saved AS (
              INSERT INTO sagas (id, name, status, steps, failure, finished_at)
              VALUES (${saga.id}, ${`enrollment_${current.studentId}`}, ${saga.status}, ${json(tx, saga.steps)},
                      ${saga.failure ? json(tx, saga.failure) : null}, ${isFinished(saga.status) ? tx`now()` : null})
              ON CONFLICT (id) DO UPDATE
                SET status = excluded.status, steps = excluded.steps, failure = excluded.failure,
                    updated_at = now(), finished_at = excluded.finished_at
              RETURNING id
            )
            UPDATE enrollment_requests
            SET status = CASE WHEN status = 'queued' THEN 'processing' ELSE status END, updated_at = now()
            WHERE id = (SELECT id FROM saved)`);
        },
        requestFacts: async () => {
          if (prefetchedFacts) return prefetchedFacts;
          return withPending(async () =>
            toFacts(
              await Promise.all([
                tx<StudentFacts[]>`SELECT id, active FROM students WHERE id = ${current.studentId}`,
                tx<TermFacts[]>`SELECT code, open FROM terms WHERE code = ${current.term}`,
                tx<SectionRow[]>`SELECT * FROM sections WHERE code IN ${tx(current.sections)}`,
              ]),
            ),
          );
        },
        lockSeat: async (code) => {
          if (heldSeat) {
            // One section lock per transaction: a second would let two requests asking for
            // the same sections in opposite orders deadlock.
            if (heldSeat.section !== code)
              throw new Error(`saga ${requestId} already holds ${heldSeat.section}'s lock; not locking ${code} too`);
            return heldSeat.seat;
          }
          const seatNow = await withPending(async () => toSeat(await this.lockSeatReads(tx, requestId, tx`${code}`, OPEN)));
          heldSeat = { section: code, seat: seatNow };
          return seatNow;
        },
        takeSeat: (section) => {
          pending.push(tx`
            WITH seat AS (UPDATE sections SET enrolled = enrolled + 1 WHERE code = ${section.code} RETURNING code)
            INSERT INTO enrollments (id, student_id, section, course, term, request_id, status)
            SELECT gen_random_uuid(), ${current.studentId}, code, ${section.course}, ${section.term}, ${requestId}, 'held'
            FROM seat`);
        },
        releaseSeat: (code) => {
          // Guarded by the held row: a release that already happened changes nothing.
          pending.push(tx`
            WITH released AS (
              UPDATE enrollments SET status = 'released', ended_at = now()
              WHERE request_id = ${requestId} AND section = ${code} AND status = 'held'
              RETURNING section
            )
            UPDATE sections SET enrolled = enrolled - 1 WHERE code IN (SELECT section FROM released)`);
        },
        activateSeats: () => {
          pending.push(tx`
            UPDATE enrollments SET status = 'active', enrolled_at = now()
            WHERE request_id = ${requestId} AND status = 'held'`);
        },
        finish: (outcome) => {
          const error = outcome.status === 'failed' ? outcome.error : undefined;
          // A derived key guards against duplicates in flight (and, for a short grace, the
          // ones that arrive just after the answer): after that the same sections may be
          // asked for again — a seat may have opened.
          pending.push(tx`
            WITH keys AS (
              UPDATE idempotency_keys
              SET expires_at = LEAST(expires_at, now() + make_interval(secs => ${this.derivedKeyGraceSeconds}))
              WHERE request_id = ${requestId} AND derived
            )
            UPDATE enrollment_requests
            SET status = ${outcome.status}, error_code = ${error?.code ?? null},
                error_detail = ${error?.detail ?? null}, finished_at = now(), updated_at = now()
            WHERE id = ${requestId}`);
        },
      };
      const result = await work(unit);
      // The queued writes, in one round trip; a failure among them rolls the step back.
      await Promise.all(sendPending());
      return result;
    }) as Promise<T | undefined>;
  }

  /**
   * Locks the student's row, then the section's, and reads the seats the student holds this
   * term: three statements, pipelined, run in that order by the server. Nothing is locked
   * unless the request (locked already) is in one of `statuses`.
   */
  private lockSeatReads(
    tx: TransactionSql,
    requestId: string,
    section: ReturnType<TransactionSql>,
    statuses: readonly RequestStatus[],
  ): Promise<readonly [unknown[], SectionRow[], SeatRow[]]> {
    const request = tx`SELECT student_id, term FROM enrollment_requests WHERE id = ${requestId} AND status IN ${tx(statuses)}`;
    return inOrder([
      tx`SELECT 1 FROM students WHERE id = (SELECT student_id FROM (${request}) r) FOR UPDATE`.execute(),
      tx<SectionRow[]>`SELECT * FROM sections WHERE code = ${section} AND EXISTS (${request}) FOR UPDATE`.execute(),
      tx<SeatRow[]>`
        SELECT e.section, e.course, s.schedule
        FROM enrollments e JOIN sections s ON s.code = e.section
        WHERE e.student_id = (SELECT student_id FROM (${request}) r) AND e.term = (SELECT term FROM (${request}) r)
          AND e.status IN ('held', 'active')`.execute(),
    ] as const);
  }

  async findRequest(id: string): Promise<FoundRequest | undefined> {
    // Sent together: one round trip.
    const [[row], [saga]] = await Promise.all([
      this.sql<RequestRow[]>`SELECT * FROM enrollment_requests WHERE id = ${id}`,
      this.sql<SagaRow[]>`SELECT * FROM sagas WHERE id = ${id}`,
    ]);
    if (!row) return undefined;
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
  ): Promise<{ items: FoundRequest[]; next?: string }> {
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

  async requeueStalled(staleMs: number, limit: number): Promise<string[]> {
    // One statement: the requests are touched and announced atomically, then the relay woken.
    const rows = await this.sql<{ id: string }[]>`
      WITH stalled AS (
        UPDATE enrollment_requests SET updated_at = now()
        WHERE id IN (
          SELECT id FROM enrollment_requests
          WHERE status IN ('queued', 'processing')
            AND updated_at < now() - make_interval(secs => ${staleMs / 1000})
          ORDER BY updated_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id
      ), announced AS (
        INSERT INTO outbox (exchange, routing_key, payload, headers)
        SELECT ${EnrollmentJobs.exchange}, ${EnrollmentJobs.requested}, jsonb_build_object('request_id', id),
               jsonb_build_object('x-request-id', id)
        FROM stalled
      )
      SELECT id FROM stalled`;
    const ids = rows.map((row) => row.id);
    if (ids.length > 0) this.relay.kick();
    return ids;
  }
}

/**
 * Awaits queries already executed (so already sent, in the order they were executed): unlike
 * Promise.all over unsent queries, whose order depends on how the array was built.
 */
function inOrder<const Q extends readonly PromiseLike<unknown>[]>(queries: Q): Promise<{ -readonly [K in keyof Q]: Awaited<Q[K]> }> {
  return Promise.all(queries) as Promise<{ -readonly [K in keyof Q]: Awaited<Q[K]> }>;
}

function toFacts([students, terms, sections]: readonly [StudentFacts[], TermFacts[], SectionRow[]]): Facts {
  return {
    student: students[0],
    term: terms[0],
    sections: new Map(sections.map((section) => [section.code, toSection(section)])),
  };
}

function toSeat([, sections, seats]: readonly [unknown[], SectionRow[], SeatRow[]]): Seat {
  const row = sections[0];
  return {
    section: row ? toSection(row) : undefined,
    seats: seats.map((seat) => ({ ...seat, schedule: Schedule.parse(seat.schedule) })),
  };
}
