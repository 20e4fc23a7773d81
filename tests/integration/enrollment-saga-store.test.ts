import { postgres, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSagaStore } from '../../services/enrollment/src/adapters/postgres/saga-store.js';
import { planSaga, validated } from '../../services/enrollment/src/domain/saga.js';
import { processEnrollmentRequest } from '../../services/enrollment/src/app/process-enrollment-request.js';
import { migratedDatabase } from './database.js';

/**
 * A saga step pipelines its reads and queues its writes: still one transaction, its statements
 * in the order the locks need. A write the database refuses — here an oversell the
 * sections_seats CHECK stops, as if the use case's check were wrong — undoes every write of
 * the step, including the ones queued before it, and the pooled connection comes back clean.
 */
let database: Awaited<ReturnType<typeof migratedDatabase>>;
let pool: Sql;
const notices: string[] = [];
/** Outside a transaction, ROLLBACK only warns: proof that none was left open on the connection. */
async function expectNoTransactionOpen() {
  notices.length = 0;
  await pool`ROLLBACK`;
  expect(notices).toEqual(['there is no transaction in progress']);
}
const id = '00000000-0000-4000-8000-0000000000a1';

beforeAll(async () => {
  database = await migratedDatabase('enrollment', 2);
  const { sql } = database;
  await sql`INSERT INTO terms (code, name, open) VALUES ('1-2030', 'term', true)`;
  await sql`INSERT INTO courses (code, name) VALUES ('C1', 'c1')`;
  await sql`INSERT INTO sections (code, course, term, capacity, enrolled, schedule) VALUES ('S1', 'C1', '1-2030', 1, 1, '[]')`;
  await sql`INSERT INTO students (id, name, email) VALUES ('RA1', 'n', 'n@example.org')`;
  await sql`INSERT INTO enrollment_requests (id, student_id, term, sections) VALUES (${id}, 'RA1', '1-2030', '{S1}')`;
  pool = postgres(database.url, { max: 1, onnotice: (notice) => void notices.push(notice.message) });
});

afterAll(async () => {
  await pool?.end({ timeout: 5 });
  await database?.drop();
});

describe('a saga step', () => {
  it('sends BEGIN first, then the request’s lock, then its reads and seat locks, and ends with COMMIT', async () => {
    const { sql } = database;
    await sql`INSERT INTO courses (code, name) VALUES ('C2', 'c2'), ('C3', 'c3')`;
    await sql`
      INSERT INTO sections (code, course, term, capacity, schedule)
      VALUES ('S2', 'C2', '1-2030', 5, '[{"day":"mon","start":"08:00","end":"09:00"}]'),
             ('S3', 'C3', '1-2030', 5, '[{"day":"tue","start":"08:00","end":"09:00"}]')`;
    await sql`INSERT INTO students (id, name, email) VALUES ('RA2', 'm', 'm@example.org')`;
    const two = '00000000-0000-4000-8000-0000000000b2';
    await sql`INSERT INTO enrollment_requests (id, student_id, term, sections) VALUES (${two}, 'RA2', '1-2030', '{S2,S3}')`;
    const sent: string[] = [];
    const capturing = postgres(database.url, {
      max: 1,
      onnotice: () => undefined,
      debug: (_connection, query) => void sent.push(query.replace(/\s+/g, ' ').trim()),
    });
    try {
      await capturing`SELECT 1`;
      sent.length = 0;
      const store = new PostgresSagaStore(capturing, { kick: () => undefined });
      await processEnrollmentRequest({ store, metrics: { submitted: () => undefined, finished: () => undefined } }, two);
    } finally {
      await capturing.end({ timeout: 5 });
    }
    // Two transactions (one per section), nothing sent outside them.
    const transactions: string[][] = [];
    for (const statement of sent) {
      if (/^begin$/i.test(statement)) transactions.push([]);
      transactions.at(-1)!.push(statement);
    }
    expect(transactions.flat()).toEqual(sent);
    expect(transactions).toHaveLength(2);
    for (const tx of transactions) {
      expect(tx[0]).toMatch(/^begin$/i);
      expect(tx[1]).toMatch(/^SELECT \* FROM enrollment_requests WHERE id = \$1 FOR UPDATE$/);
      expect(tx.at(-1)).toMatch(/^commit$/i);
      // Exactly one section locked, after the student.
      const locks = tx.filter((statement) => /FOR UPDATE$/.test(statement)).slice(1);
      expect(locks).toHaveLength(2);
      expect(locks[0]).toMatch(/^SELECT 1 FROM students/);
      expect(locks[1]).toMatch(/^SELECT \* FROM sections/);
    }
    const [done] = await sql`SELECT status FROM enrollment_requests WHERE id = ${two}`;
    expect(done!.status).toBe('completed');
  });

  it('is all or nothing when the database refuses one of its writes, and frees its connection', async () => {
    const store = new PostgresSagaStore(pool, { kick: () => undefined });
    const step = store.inSaga(id, async (unit) => {
      const { section } = await unit.lockSeat('S1');
      unit.saveSaga(validated(planSaga(id, ['S1'])));
      unit.takeSeat(section!); // no seat left: the CHECK refuses it
      unit.finish({ status: 'completed' });
      return 'done';
    });
    await expect(step).rejects.toMatchObject({ code: '23514' });
    await expectNoTransactionOpen();

    const [request] = await database.sql`SELECT status FROM enrollment_requests WHERE id = ${id}`;
    const sagas = await database.sql`SELECT 1 FROM sagas WHERE id = ${id}`;
    const seats = await database.sql`SELECT 1 FROM enrollments WHERE request_id = ${id}`;
    const [section] = await database.sql`SELECT enrolled FROM sections WHERE code = 'S1'`;
    expect([request!.status, sagas.length, seats.length, section!.enrolled]).toEqual(['queued', 0, 0, 1]);

    // The one pooled connection is idle, not inside the aborted transaction: the saga runs on it.
    await processEnrollmentRequest({ store, metrics: { submitted: () => undefined, finished: () => undefined } }, id);
    const [after] = await database.sql`SELECT status, error_code FROM enrollment_requests WHERE id = ${id}`;
    expect([after!.status, after!.error_code]).toEqual(['failed', 'SECTION_FULL']);
    await expectNoTransactionOpen();
  });

  it('answers undefined for a request that does not exist, leaving no transaction open', async () => {
    const store = new PostgresSagaStore(pool, { kick: () => undefined });
    await expect(store.inSaga('00000000-0000-4000-8000-0000000000ff', async () => 'never')).resolves.toBeUndefined();
    await expectNoTransactionOpen();
  });
});
