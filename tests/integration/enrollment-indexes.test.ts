import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
// The lookups of enrollment-store.ts that run once or more for every request.
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
