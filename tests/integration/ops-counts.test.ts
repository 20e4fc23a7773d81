import { postgres, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_KEYS_COUNTED, PostgresOpsStore } from '../../services/enrollment/src/adapters/postgres/ops-store.js';
import { PostgresSagaStore } from '../../services/enrollment/src/adapters/postgres/saga-store.js';
import { abandonEnrollmentRequest, processEnrollmentRequest } from '../../services/enrollment/src/app/process-enrollment-request.js';
import { submitEnrollment } from '../../services/enrollment/src/app/submit-enrollment.js';
import { PostgresOnboardingProgress } from '../../services/worker/src/adapters/postgres/onboarding-progress.js';
import { migratedDatabase } from './database.js';

/**
 * GET /api/ops/stats and GET /api/admin/tasks/summary (issue 16): their counts must stay true
 * while their cost stays independent of history. Each test loads a history through SQL, checks
 * every figure against a count(*) of the tables, and runs the statements the store really sends
 * under EXPLAIN ANALYZE: the rows they read from the history tables must not grow with it (the
 * old GROUP BY over every request, saga and task read all of them).
 */
type PlanNode = {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
};

/** Rows each relation's scans returned or filtered out, summed over a plan. */
function rowsRead(node: PlanNode, into: Record<string, number> = {}): Record<string, number> {
  const relation = node['Relation Name'];
  if (relation) {
    const loops = node['Actual Loops'] ?? 1;
    into[relation] = (into[relation] ?? 0) + ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * loops;
  }
  for (const child of node.Plans ?? []) rowsRead(child, into);
  return into;
}

/** Runs `call` capturing its statements, then EXPLAIN ANALYZEs each read (in a transaction rolled back). */
async function readsOf(url: string, sql: Sql, call: (pool: Sql) => Promise<unknown>): Promise<Record<string, number>> {
  const captured: { query: string; parameters: unknown[] }[] = [];
  const pool = postgres(url, {
    max: 1,
    onnotice: () => undefined,
    debug: (_c, query, parameters) => void captured.push({ query, parameters }),
  });
  try {
    await call(pool);
  } finally {
    await pool.end({ timeout: 5 });
  }
  const total: Record<string, number> = {};
  for (const { query, parameters } of captured) {
    if (!/^\s*(SELECT|WITH)/i.test(query) || /pg_catalog\.|pg_try_advisory/.test(query)) continue;
    await sql
      .begin(async (tx) => {
        const [row] = await tx.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`, parameters as never[]);
        const plan = (row as Record<string, [{ Plan: PlanNode }]>)['QUERY PLAN'][0].Plan;
        for (const [relation, n] of Object.entries(rowsRead(plan))) total[relation] = (total[relation] ?? 0) + n;
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
  }
  return total;
}
class RolledBack extends Error {}

describe('enrollment ops stats', () => {
  let database: Awaited<ReturnType<typeof migratedDatabase>>;
  let sql: Sql;
  const HISTORY = 5_000;

  beforeAll(async () => {
    database = await migratedDatabase('enrollment', 4);
    sql = database.sql;
    await sql`INSERT INTO terms (code, name, open) VALUES ('1-2030', 'term', true), ('H-2020', 'old', false)`;
    await sql`INSERT INTO courses (code, name) VALUES ('P1', 'p1'), ('P2', 'p2'), ('P3', 'p3'), ('H1', 'h1')`;
    await sql`
      INSERT INTO sections (code, course, term, capacity, enrolled, schedule)
      VALUES ('P-1', 'P1', '1-2030', 50, 0, '[{"day":"mon","start":"08:00","end":"09:00"}]'),
             ('P-2', 'P2', '1-2030', 50, 0, '[{"day":"tue","start":"08:00","end":"09:00"}]'),
             ('P-FULL', 'P3', '1-2030', 1, 1, '[{"day":"wed","start":"08:00","end":"09:00"}]')`;
    await sql`INSERT INTO students (id, name, email) SELECT 'S' || g, 'n', 'n@example.org' FROM generate_series(1, 20) g`;
    // A history of finished requests (80 % completed, 20 % failed) with their sagas and live keys.
    await sql`
      INSERT INTO enrollment_requests (id, student_id, term, sections, status, error_code, finished_at)
      SELECT md5('r' || g)::uuid, 'H' || g, 'H-2020', ARRAY['H-1'], CASE WHEN g % 5 = 0 THEN 'failed' ELSE 'completed' END,
             CASE WHEN g % 5 = 0 THEN 'SECTION_FULL' END, now()
      FROM generate_series(1, ${HISTORY}) g`;
    await sql`
      INSERT INTO sagas (id, name, status, steps, finished_at)
      SELECT md5('r' || g)::uuid, 'enrollment', CASE WHEN g % 5 = 0 THEN 'compensated' ELSE 'completed' END, '[]', now()
      FROM generate_series(1, ${HISTORY}) g`;
    await sql`
      INSERT INTO idempotency_keys (key, request_id, fingerprint, derived, response, expires_at)
      SELECT 'h-' || g, md5('r' || g)::uuid, 'f', false, '{}', now() + interval '1 day' FROM generate_series(1, ${HISTORY}) g`;
    await sql`ANALYZE`;
  });

  afterAll(() => database?.drop());

  const truth = async () => {
    const requests = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM enrollment_requests GROUP BY status`;
    const sagas = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM sagas GROUP BY status`;
    const [keys] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM idempotency_keys WHERE expires_at > now()`;
    const of = (rows: { status: string; n: number }[], all: string[]) =>
      Object.fromEntries(all.map((s) => [s, rows.find((r) => r.status === s)?.n ?? 0]));
    return {
      requests: of(requests, ['queued', 'processing', 'completed', 'failed']),
      sagas: of(sagas, ['running', 'compensating', 'completed', 'compensated', 'failed']),
      keys: keys!.n,
    };
  };

  it('counts every request and saga by status exactly, through submits, saga steps, compensation, abandonment and purges', async () => {
    const sagas = new PostgresSagaStore(sql, { kick: () => undefined });
    const ops = new PostgresOpsStore(sql);
    const metrics = { submitted: () => undefined, finished: () => undefined };
    const submit = (student: string, sections: string[]) =>
      submitEnrollment(
        { store: sagas, metrics, keyTtlSeconds: 60 },
        { student_id: student, term: '1-2030', sections, idempotency_key: `k-${student}`, derived_key: true, fingerprint: 'f' },
        'req',
      );
    // Twenty students at once: half take two seats, half are refused one and given back the other.
    const accepted = await Promise.all(
      Array.from({ length: 20 }, (_, i) => submit(`S${i + 1}`, i % 2 ? ['P-1', 'P-2'] : ['P-1', 'P-FULL'])),
    );
    const stalled = accepted.pop()!;
    let stats = await ops.stats();
    expect(stats.requests.queued).toBe(20);
    await Promise.all(accepted.map((a) => processEnrollmentRequest({ store: sagas, metrics }, a.response.request_id)));
    await abandonEnrollmentRequest({ store: sagas, metrics }, stalled.response.request_id, 5, 'test');
    await ops.purgeSagas('compensated', 0, Date.now() + 60_000);

    const expected = await truth();
    expect(expected.requests.completed).toBe(HISTORY * 0.8 + 9); // S2, S4 … S18: the last one (S20) was abandoned
    stats = await ops.stats();
    expect(stats.requests).toEqual(expected.requests);
    expect(stats.sagas).toEqual(expected.sagas);
    expect(stats.idempotency.entries).toBeGreaterThan(LIVE_KEYS_COUNTED);
    expect(stats.idempotency.estimated).toBe(true);
    // Folding changes nothing but where the figures are kept.
    await ops.foldCounts();
    expect((await ops.stats()).sagas).toEqual(expected.sagas);
  });

  it('reads no request or saga row and at most the counting bound of keys, however long the history', async () => {
    const reads = await readsOf(database.url, sql, (pool) => new PostgresOpsStore(pool).stats());
    expect(reads.enrollment_requests ?? 0).toBe(0);
    expect(reads.sagas ?? 0).toBe(0);
    expect(reads.idempotency_keys ?? 0).toBeLessThanOrEqual(LIVE_KEYS_COUNTED + 1 + 5);
    expect(reads.status_totals ?? 0).toBeLessThan(20);
  });

  it('counts keys exactly while they are few', async () => {
    await sql`DELETE FROM idempotency_keys WHERE key LIKE 'h-%' AND key <> 'h-1'`;
    const stats = await new PostgresOpsStore(sql).stats();
    expect(stats.idempotency.entries).toBe((await truth()).keys);
    expect(stats.idempotency.estimated).toBeUndefined();
  });
});

describe('worker task summary', () => {
  let database: Awaited<ReturnType<typeof migratedDatabase>>;
  let sql: Sql;
  const HISTORY = 5_050;

  beforeAll(async () => {
    database = await migratedDatabase('worker', 4);
    sql = database.sql;
    await sql`
      INSERT INTO tasks (id, type, status, created_at, started_at, finished_at)
      SELECT md5('t' || g)::uuid, CASE WHEN g % 101 = 0 THEN 'ingest' WHEN g % 101 = 1 THEN 'batch' ELSE 'workflow' END,
             CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'completed' END, now() - interval '1 day', now() - interval '1 day', now()
      FROM generate_series(1, ${HISTORY}) g`;
    await sql`ANALYZE`;
  });

  afterAll(() => database?.drop());

  it('counts every task by type and status exactly as tasks are created, run, finished and deleted', async () => {
    const progress = new PostgresOnboardingProgress(sql, 60);
    await sql`INSERT INTO tasks (id, type, status) SELECT gen_random_uuid(), 'workflow', 'pending' FROM generate_series(1, 30)`;
    // Concurrent single-row transitions, as the workflow consumers make them.
    const pending = await sql<{ id: string }[]>`SELECT id FROM tasks WHERE status = 'pending'`;
    await Promise.all(
      pending.map(({ id }, i) =>
        sql.begin(async (tx) => {
          await tx`UPDATE tasks SET status = 'running', started_at = now() - make_interval(secs => ${i < 3 ? 3600 : 0}) WHERE id = ${id}`;
          if (i % 2) await tx`UPDATE tasks SET status = ${i % 3 ? 'completed' : 'failed'}, finished_at = now() WHERE id = ${id}`;
        }),
      ),
    );
    await sql`UPDATE tasks SET details = '{"touched":true}' WHERE type = 'ingest'`; // no status changed
    await sql`DELETE FROM tasks WHERE type = 'batch' AND status = 'failed'`;

    const rows = await sql<
      { type: string; status: string; n: number }[]
    >`SELECT type, status, count(*)::int AS n FROM tasks GROUP BY type, status`;
    const of = (type: string) => {
      const n = (status: string) => rows.find((r) => r.type === type && r.status === status)?.n ?? 0;
      const counts = { pending: n('pending'), running: n('running'), completed: n('completed'), failed: n('failed') };
      return { total: counts.pending + counts.running + counts.completed + counts.failed, ...counts };
    };
    const summary = await progress.taskSummary();
    expect(summary.workflow.running).toBe(15);
    expect(summary).toEqual({ ingest: of('ingest'), batch: of('batch'), workflow: of('workflow'), stuck: 2 });
  });

  it('reads only the running tasks, however long the history', async () => {
    const [running] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tasks WHERE status = 'running'`;
    const reads = await readsOf(database.url, sql, (pool) => new PostgresOnboardingProgress(pool, 60).taskSummary());
    expect(reads.tasks ?? 0).toBeLessThanOrEqual(running!.n);
    expect(reads.status_totals ?? 0).toBeLessThan(20);
  });
});
