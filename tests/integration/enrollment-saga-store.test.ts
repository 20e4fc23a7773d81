import { postgres, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSagaStore } from '../../services/enrollment/src/adapters/postgres/saga-store.js';
import { planSaga, validated } from '../../services/enrollment/src/domain/saga.js';
import { processEnrollmentRequest } from '../../services/enrollment/src/app/process-enrollment-request.js';
import { migratedDatabase } from './database.js';

/**
 * A saga step sends BEGIN with its reads and COMMIT with its writes (no round trip of their
 * own): still one transaction. A write the database refuses — here an oversell the
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
    const seats = await database.sql`SELECT 1 FROM enrollments`;
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
