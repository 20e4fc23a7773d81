import type { Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSagaStore } from '../../services/enrollment/src/adapters/postgres/saga-store.js';
import { processEnrollmentRequest } from '../../services/enrollment/src/app/process-enrollment-request.js';
import { migratedDatabase } from './database.js';

/**
 * Many requests at once, each asking for the same few sections in its own order, each run by
 * two consumers at once (a redelivered message): no step deadlocks or fails, no section is
 * oversold, a section's count is its held and active seats, and every request ends with all of
 * its seats active (completed) or none held (failed).
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let sql: Sql;
const SECTIONS = ['S1', 'S2', 'S3', 'S4'];
const STUDENTS = 24;

beforeAll(async () => {
  database = await migratedDatabase('enrollment', 12);
  sql = database.sql;
  await sql`INSERT INTO terms (code, name, open) VALUES ('1-2030', 'term', true)`;
  for (const [i, code] of SECTIONS.entries()) {
    await sql`INSERT INTO courses (code, name) VALUES (${`C${i}`}, ${`c${i}`})`;
    await sql`
      INSERT INTO sections (code, course, term, capacity, schedule)
      VALUES (${code}, ${`C${i}`}, '1-2030', 20, ${sql.json([{ day: ['mon', 'tue', 'wed', 'thu'][i]!, start: '08:00', end: '09:00' }])})`;
  }
  for (let s = 0; s < STUDENTS; s++) await sql`INSERT INTO students (id, name, email) VALUES (${`R${s}`}, 'n', ${`n${s}@example.org`})`;
}, 60_000);

afterAll(async () => {
  await database?.drop();
});

describe('saga steps under contention', () => {
  it('neither deadlock nor oversell when requests take the same sections in opposite orders', async () => {
    const store = new PostgresSagaStore(sql, { kick: () => undefined });
    const metrics = { submitted: () => undefined, finished: () => undefined };
    const ids: string[] = [];
    for (let s = 0; s < STUDENTS; s++) {
      const id = crypto.randomUUID();
      const mine = s % 2 === 0 ? [...SECTIONS] : [...SECTIONS].reverse();
      await sql`INSERT INTO enrollment_requests (id, student_id, term, sections) VALUES (${id}, ${`R${s}`}, '1-2030', ${mine}::text[])`;
      ids.push(id);
    }
    const results = await Promise.allSettled(
      ids.flatMap((id) => [processEnrollmentRequest({ store, metrics }, id), processEnrollmentRequest({ store, metrics }, id)]),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
    expect(failures).toEqual([]);

    const sections = await sql<{ code: string; enrolled: number; capacity: number; seats: number }[]>`
      SELECT s.code, s.enrolled, s.capacity,
             (SELECT count(*)::int FROM enrollments e WHERE e.section = s.code AND e.status IN ('held', 'active')) AS seats
      FROM sections s ORDER BY s.code`;
    for (const s of sections) {
      expect(s.enrolled).toBe(s.seats);
      expect(s.enrolled).toBeLessThanOrEqual(s.capacity);
    }
    const requests = await sql<{ status: string; error_code: string | null; active: number; held: number; sections: number }[]>`
      SELECT r.status, r.error_code, cardinality(r.sections) AS sections,
             (SELECT count(*)::int FROM enrollments e WHERE e.request_id = r.id AND e.status = 'active') AS active,
             (SELECT count(*)::int FROM enrollments e WHERE e.request_id = r.id AND e.status = 'held') AS held
      FROM enrollment_requests r`;
    for (const r of requests) {
      expect(['completed', 'failed']).toContain(r.status);
      expect(r.held).toBe(0);
      expect(r.active).toBe(r.status === 'completed' ? r.sections : 0);
    }
    // Each completed request holds a seat in every section, and some did complete.
    const completed = requests.filter((r) => r.status === 'completed').length;
    expect(completed).toBeGreaterThan(0);
    expect(sections.map((s) => s.enrolled)).toEqual(SECTIONS.map(() => completed));
  }, 120_000);
});
