import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedDatabase } from './database.js';

/**
 * The worker's periodic sweeps and its per-request statements must find their rows by index:
 * a sequential scan costs O(table) on every pass or request — every query ever answered (until
 * purged), every task and every student ever onboarded — invisible in small tests. Checked
 * with the planner told to avoid sequential scans: it still picks one only when no index can
 * serve the statement. The statements are those of query-store.ts and onboarding-store.ts.
 *
 * The outbox is left out: it holds only messages not yet published (each is deleted once the
 * broker confirms it), so reading it whole is reading what is in flight.
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;

beforeAll(async () => {
  database = await migratedDatabase('worker', 1);
  sql = database.sql;
});

afterAll(() => database?.drop());

const id = '00000000-0000-4000-8000-000000000001';
const owner = 'worker-1:42/abcd1234';

async function plan(statement: string): Promise<string> {
  const rows = await sql.begin(async (tx) => {
    await tx`SET LOCAL enable_seqscan = off`;
    return tx.unsafe(`EXPLAIN ${statement}`);
  });
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

const OWN_TABLES = /Seq Scan on (queries|tasks|provider_effects|onboarded_students|ingest_schedule_slots)\b/;

const sweeps: Record<string, string> = {
  'stale-query sweep: pending queries announced too long ago': `
    WITH stale AS (
      SELECT id FROM queries
      WHERE status = 'pending' AND deadline_at > now() AND announced_at < now() - interval '60 seconds'
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload->>'query_id' = queries.id::text)
      ORDER BY announced_at LIMIT 200 FOR UPDATE SKIP LOCKED
    ), announced AS (
      UPDATE queries q SET announced_at = now() FROM stale WHERE q.id = stale.id RETURNING q.id
    )
    INSERT INTO outbox (exchange, routing_key, payload)
    SELECT 'cupo.jobs', 'worker.query-requested.v1', jsonb_build_object('query_id', id) FROM announced`,
  'deadline sweep: pending queries past their deadline': `
    UPDATE queries SET status = 'failed', error = '{}', processed_at = now(), expires_at = now() + interval '1 day'
    WHERE id = ANY(ARRAY(
      SELECT id FROM queries WHERE status = 'pending' AND deadline_at <= now() ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED))
      AND status = 'pending'
    RETURNING type, created_at`,
  'purge: answers past their lifetime': `
    DELETE FROM queries WHERE id = ANY(ARRAY(
      SELECT id FROM queries WHERE expires_at < now() ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED))`,
  'reaper: running ingests and batches whose heartbeat stopped': `
    SELECT id, type FROM tasks
    WHERE status = 'running' AND type IN ('ingest', 'batch')
      AND (lease_until IS NULL OR lease_until < now()) AND heartbeat_at < now() - interval '60 seconds'
    FOR UPDATE SKIP LOCKED LIMIT 50`,
  'reaper: pending ingests and batches nobody took': `
    UPDATE tasks SET heartbeat_at = now()
    WHERE id IN (
      SELECT id FROM tasks
      WHERE status = 'pending' AND type IN ('ingest', 'batch')
        AND COALESCE(heartbeat_at, created_at) < now() - interval '60 seconds'
      ORDER BY created_at LIMIT 50 FOR UPDATE SKIP LOCKED)
    RETURNING id, type`,
};

const perRequest: Record<string, string> = {
  'a query by id (GET /api/queries/{id}, each run)': `SELECT * FROM queries WHERE id = '${id}'`,
  'storing an answer once': `UPDATE queries SET status = 'completed', processed_at = now() WHERE id = '${id}' AND status = 'pending'`,
  'a task by id': `SELECT * FROM tasks WHERE id = '${id}'`,
  'claiming a task': `
    UPDATE tasks SET status = 'running', owner = '${owner}'
    WHERE id = '${id}' AND (status = 'pending' OR (status = 'running' AND (owner IS NULL OR owner = '${owner}' OR lease_until < now())))`,
  'heartbeat: the tasks a run holds': `UPDATE tasks SET lease_until = now() + interval '30 seconds', heartbeat_at = now() WHERE owner = '${owner}' AND status = 'running'`,
  'heartbeat: the e-mails a run has claimed': `UPDATE provider_effects SET lease_until = now() + interval '30 seconds' WHERE owner = '${owner}' AND status = 'claimed'`,
  'a batch’s workflows': `SELECT id, status, details->'student' FROM tasks WHERE parent_id = '${id}' AND type = 'workflow' ORDER BY student_id`,
  'an effect’s claim': `SELECT status, owner, external_id FROM provider_effects WHERE student_id = 'S1' AND effect = 'welcome_email'`,
  'retry: a batch’s failed workflows': `UPDATE tasks SET status = 'pending' WHERE parent_id = '${id}' AND type = 'workflow' AND status = 'failed'`,
  'a student seen before (ingest planning)': `INSERT INTO onboarded_students (student_id, name, email, workflow_task_id) VALUES ('S1', 'n', 'e', '${id}') ON CONFLICT (student_id) DO NOTHING`,
  'progress: an ingest’s batches and their workflows': `
    SELECT count(*) FROM tasks WHERE parent_id IN (SELECT id FROM tasks WHERE parent_id = '${id}' AND type = 'batch') AND type = 'workflow'`,
  'schedule: taking a slot': `
    INSERT INTO ingest_schedule_slots (slot_at, task_id, cron, time_zone) VALUES (now(), '${id}', '* * * * *', 'UTC')
    ON CONFLICT (slot_at) DO NOTHING RETURNING 1`,
};

describe('the worker’s sweeps', () => {
  for (const [name, statement] of Object.entries(sweeps)) {
    it(`${name} is served by an index`, async () => {
      expect(await plan(statement)).not.toMatch(OWN_TABLES);
    });
  }
});

describe('the worker’s per-request statements', () => {
  for (const [name, statement] of Object.entries(perRequest)) {
    it(`${name} is served by an index`, async () => {
      expect(await plan(statement)).not.toMatch(OWN_TABLES);
    });
  }
});
