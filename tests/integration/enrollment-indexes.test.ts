import { postgres, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCatalogStore } from '../../services/enrollment/src/adapters/postgres/catalog-store.js';
import { PostgresOpsStore } from '../../services/enrollment/src/adapters/postgres/ops-store.js';
import { PostgresSagaStore } from '../../services/enrollment/src/adapters/postgres/saga-store.js';
import { abandonEnrollmentRequest, processEnrollmentRequest } from '../../services/enrollment/src/app/process-enrollment-request.js';
import { submitEnrollment } from '../../services/enrollment/src/app/submit-enrollment.js';
import { migratedDatabase } from './database.js';

/**
 * The enrollment service's per-request statements must find their rows by index: a
 * sequential scan in one of them costs O(table) on every request, which stays invisible in
 * small tests and grows with every enrollment ever made. Checked with the planner told to
 * avoid sequential scans: it still picks one only when no index can serve the lookup.
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;

beforeAll(async () => {
  database = await migratedDatabase('enrollment', 1);
  sql = database.sql;
});

afterAll(() => database?.drop());

const id = '00000000-0000-4000-8000-000000000001';
// Lookups of the saga store (adapters/postgres/saga-store.ts) that run once or more for every request.
const perRequest: Record<string, string> = {
  'finish: the derived key of a request': `UPDATE idempotency_keys SET expires_at = now() WHERE request_id = '${id}' AND derived`,
  'saga lock: the request row': `SELECT * FROM enrollment_requests WHERE id = '${id}' FOR UPDATE`,
  'saga state': `SELECT * FROM sagas WHERE id = '${id}'`,
  'seats the student holds this term': `SELECT e.section FROM enrollments e WHERE e.student_id = 's' AND e.term = 't' AND e.status IN ('held', 'active')`,
  'confirm: the held seats of a request': `UPDATE enrollments SET status = 'active' WHERE request_id = '${id}' AND status = 'held'`,
  'compensate: one held seat': `UPDATE enrollments SET status = 'released' WHERE request_id = '${id}' AND section = 'X' AND status = 'held'`,
  'replay: an idempotency key': `SELECT fingerprint, response FROM idempotency_keys WHERE key = 'k'`,
};

describe('enrollment per-request statements', () => {
  for (const [name, statement] of Object.entries(perRequest)) {
    it(`${name} is served by an index`, async () => {
      const plan = await sql.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`;
        return tx.unsafe(`EXPLAIN ${statement}`);
      });
      const text = plan.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).not.toMatch(/Seq Scan/);
    });
  }
});

describe('a student’s requests, newest first (GET /api/enrollments/requests)', () => {
  it('are a page of one index range scan, with no sort, however many requests others made', async () => {
    const plan = await sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe(
        `EXPLAIN SELECT * FROM enrollment_requests WHERE student_id = 's'
           AND (accepted_at, id) < ('2026-01-01T00:00:00.000001Z'::timestamptz, '${id}'::uuid)
         ORDER BY accepted_at DESC, id DESC LIMIT 51`,
      );
    });
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using enrollment_requests_by_student/);
    expect(text).not.toMatch(/Sort|Seq Scan/);
  });
});

/**
 * Every statement the stores really send on a request's path and in the periodic jobs
 * (captured with porsager's debug hook while a request is submitted, processed — seats taken,
 * one refused and given back —, read and listed, and while the recovery sweep and the purges
 * run), EXPLAINed with the planner told to avoid sequential scans: a Seq Scan left in a plan
 * is a lookup no index serves, whose cost grows with history.
 */
describe('every statement on a request’s path and in the periodic jobs', () => {
  let pool: Sql;
  const captured: { query: string; parameters: unknown[] }[] = [];

  beforeAll(async () => {
    pool = postgres(database.url, {
      max: 2,
      onnotice: () => undefined,
      debug: (_connection, query, parameters) => void captured.push({ query, parameters }),
    });
    await sql`INSERT INTO terms (code, name, open) VALUES ('1-2030', 'term', true) ON CONFLICT DO NOTHING`;
    await sql`INSERT INTO courses (code, name) VALUES ('P1', 'p1'), ('P2', 'p2'), ('P3', 'p3') ON CONFLICT DO NOTHING`;
    await sql`
      INSERT INTO sections (code, course, term, capacity, enrolled, schedule)
      VALUES ('P-1', 'P1', '1-2030', 5, 0, '[{"day":"mon","start":"08:00","end":"09:00"}]'),
             ('P-2', 'P2', '1-2030', 5, 0, '[{"day":"tue","start":"08:00","end":"09:00"}]'),
             ('P-FULL', 'P3', '1-2030', 1, 1, '[{"day":"wed","start":"08:00","end":"09:00"}]')`;
    await sql`INSERT INTO students (id, name, email) VALUES ('PA1', 'n', 'n@example.org'), ('PA2', 'm', 'm@example.org')`;
  });

  afterAll(() => pool?.end({ timeout: 5 }));

  it('none scans a whole table', async () => {
    const sagas = new PostgresSagaStore(pool, { kick: () => undefined });
    const ops = new PostgresOpsStore(pool);
    const catalog = new PostgresCatalogStore(pool);
    const metrics = { submitted: () => undefined, finished: () => undefined };
    const submit = (student: string, sections: string[]) =>
      submitEnrollment(
        { store: sagas, metrics, keyTtlSeconds: 60 },
        { student_id: student, term: '1-2030', sections, idempotency_key: `k-${student}`, derived_key: true, fingerprint: 'f' },
        'req',
      );
    const done = await submit('PA1', ['P-1', 'P-2']);
    await processEnrollmentRequest({ store: sagas, metrics }, done.response.request_id);
    await submit('PA1', ['P-1', 'P-2']); // a replay
    const refused = await submit('PA2', ['P-1', 'P-FULL']);
    await processEnrollmentRequest({ store: sagas, metrics }, refused.response.request_id);
    const stalled = await submit('PA2', ['P-2']);
    await abandonEnrollmentRequest({ store: sagas, metrics }, stalled.response.request_id, 5, 'test');
    await sagas.findRequest(done.response.request_id);
    await sagas.listStudentRequests('PA1', ['queued', 'processing'], { limit: 10 });
    const [enrollment] = (await catalog.listStudentEnrollments('PA1', '1-2030', { limit: 10 })).items;
    await catalog.findSection('P-1');
    await catalog.findEnrollment(enrollment!.id);
    await catalog.dropEnrollment(enrollment!.id);
    await ops.roster('P-2');
    // Not ops.stats(): it counts every request and saga by status, a whole-table read by
    // what it answers, whatever the indexes (bounding it needs counters kept as requests end).
    // The periodic jobs.
    await sagas.requeueStalled(60_000, 200);
    await ops.purgeExpiredKeys();
    await ops.purgeSagas('completed', 3600, Date.now() + 60_000);
    await ops.openRequests();
    await ops.forgetIdempotencyKey('k-none');

    // Not ours: transaction control, and the driver's look at pg_catalog when it connects.
    const statements = captured.filter(({ query }) => !/^\s*(BEGIN|COMMIT|ROLLBACK)\s*$/i.test(query) && !/pg_catalog\./.test(query));
    expect(statements.length).toBeGreaterThan(15);
    const scans: string[] = [];
    for (const { query, parameters } of statements) {
      const plan = await sql.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`;
        return tx.unsafe(`EXPLAIN ${query}`, parameters as never[]);
      });
      const text = plan.map((row) => row['QUERY PLAN']).join('\n');
      if (/Seq Scan/.test(text)) scans.push(`${query}\n${text}`);
    }
    expect(scans).toEqual([]);
  });

  it('the outbox relay takes its batch and deletes it by index', async () => {
    // OutboxRelay's two statements (packages/outbox), as it sends them.
    for (const statement of [
      `SELECT id, exchange, routing_key, payload, headers, created_at FROM outbox ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED`,
      `DELETE FROM outbox WHERE id IN (1, 2, 3)`,
    ]) {
      const plan = await sql.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`;
        await tx`SET LOCAL enable_sort = off`;
        return tx.unsafe(`EXPLAIN ${statement}`);
      });
      const text = plan.map((row) => row['QUERY PLAN']).join('\n');
      expect(text, text).not.toMatch(/Seq Scan|Sort/);
    }
  });
});
