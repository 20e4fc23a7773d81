import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedDatabase } from './database.js';

/**
 * Migrations run before a rolling upgrade replaces the replicas, so the previous version works
 * on the migrated schema for a while: what it writes must still be accepted.
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;

beforeAll(async () => {
  database = await migratedDatabase('worker');
});

afterAll(() => database?.drop());

describe('the worker’s schema during a rolling upgrade', () => {
  it('still records a sent e-mail the way the previous version does', async () => {
    const { sql } = database;
    // The previous version's recordEffect (0f26fd2): no status, no done_at.
    await sql`
      INSERT INTO provider_effects (student_id, effect, external_id) VALUES ('RA9001', 'email', '<m1@cupo>')
      ON CONFLICT DO NOTHING`;
    const [row] = await sql<{ status: string; done: boolean }[]>`
      SELECT status, done_at IS NOT NULL AS done FROM provider_effects WHERE student_id = 'RA9001'`;
    expect(row).toEqual({ status: 'done', done: true });
  });
});
