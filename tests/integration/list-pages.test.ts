import { postgres, type Sql } from '@cupo/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBookingStore } from '../../services/booking/src/adapters/postgres/booking-store.js';
import { PostgresCatalogStore } from '../../services/enrollment/src/adapters/postgres/catalog-store.js';
import { PostgresOpsStore } from '../../services/enrollment/src/adapters/postgres/ops-store.js';
import { PostgresInventoryStore as InventoryStore } from '../../services/inventory/src/adapters/postgres/inventory-store.js';
import { PostgresOnboardingStore } from '../../services/worker/src/adapters/postgres/onboarding-store.js';
import { migratedDatabase } from './database.js';

/**
 * Every list endpoint pages with a keyset: a page must be one index range scan in the list's
 * own order, however deep the client pages. A Sort in the plan means every matching row is
 * read and sorted for each page (the cost grows with the data); a Seq Scan reads the whole
 * table. Checked on the SQL the stores really send (captured with porsager's debug hook),
 * first and later pages, with the planner told to avoid sequential scans: it still picks a
 * sort or a scan only when no index can serve the page.
 */
type Service = 'inventory' | 'booking' | 'enrollment' | 'worker';
const databases: Partial<Record<Service, Awaited<ReturnType<typeof migratedDatabase>>>> = {};
const pools: Sql[] = [];

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
  await Promise.all(Object.values(databases).map((database) => database.drop()));
});

/** A pool on the service's database that records every statement it sends. */
async function capturing(service: Service) {
  const database = (databases[service] = await migratedDatabase(service, 2));
  const statements: { query: string; parameters: unknown[] }[] = [];
  const pool = postgres(database.url, {
    max: 2,
    onnotice: () => undefined,
    debug: (_connection, query, parameters) => void statements.push({ query, parameters }),
  });
  pools.push(pool);
  return { sql: database.sql, pool, statements };
}

/** Walks a list with pages of one row, so the second page's statement carries a cursor. */
async function twoPages<T>(list: (page: { limit: number; cursor?: string }) => Promise<{ items: T[]; next?: string }>) {
  const first = await list({ limit: 1 });
  expect(first.items).toHaveLength(1);
  expect(first.next).toBeDefined();
  const second = await list({ limit: 1, cursor: first.next! });
  expect(second.items).toHaveLength(1);
  expect(second.items).not.toEqual(first.items);
}

async function expectIndexOnly(sql: Sql, statements: { query: string; parameters: unknown[] }[]) {
  const pages = statements.filter((s) => /ORDER BY[\s\S]*LIMIT/i.test(s.query));
  expect(pages.length).toBeGreaterThan(0);
  for (const { query, parameters } of pages) {
    const plan = await sql.begin(async (tx) => {
      // Whatever can be done otherwise is priced out: a sort or a scan of the table that is
      // still in the plan is one no index could spare.
      await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL enable_bitmapscan = off`;
      await tx`SET LOCAL enable_sort = off`;
      await tx`SET LOCAL enable_incremental_sort = off`;
      return tx.unsafe(`EXPLAIN ${query}`, parameters as never[]);
    });
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text, `${query}\n${text}`).not.toMatch(/Sort|Seq Scan/);
  }
}

describe('list pages are index range scans', () => {
  let booking: Awaited<ReturnType<typeof capturing>>;
  beforeAll(async () => {
    [booking] = await Promise.all([capturing('booking')]);
  });

  it('bookings, everyone’s and one user’s', async () => {
    const { sql, pool, statements } = booking;
    await sql`
      INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status)
      SELECT gen_random_uuid(), 'u', 1, '2030-01-01', '2030-01-02', 1, 'confirmed' FROM generate_series(1, 3)`;
    const repository = new PostgresBookingStore(pool);
    await twoPages((page) => repository.list({ page }));
    await twoPages((page) => repository.list({ userId: 'u', page }));
    await expectIndexOnly(sql, statements);
  });

  it('rooms', async () => {
    const { sql, pool, statements } = await capturing('inventory');
    await sql`INSERT INTO rooms (name, type, total_quantity) VALUES ('a', 't', 1), ('b', 't', 1), ('c', 't', 1)`;
    await twoPages((page) => new InventoryStore(pool).listRooms(page));
    await expectIndexOnly(sql, statements);
  });

  it('terms, sections, a student’s enrollments and sagas', async () => {
    const { sql, pool, statements } = await capturing('enrollment');
    await sql`INSERT INTO terms (code, name, open) VALUES ('1-2030', 'a', true), ('2-2030', 'b', true)`;
    await sql`INSERT INTO courses (code, name) VALUES ('C1', 'c1'), ('C2', 'c2')`;
    await sql`INSERT INTO sections (code, course, term, capacity, enrolled) VALUES ('S1', 'C1', '1-2030', 5, 1), ('S2', 'C2', '1-2030', 5, 1)`;
    await sql`INSERT INTO students (id, name, email) VALUES ('RA1', 'n', 'n@example.org')`;
    const [r1, r2] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];
    await sql`
      INSERT INTO enrollment_requests (id, student_id, term, sections, status)
      VALUES (${r1}, 'RA1', '1-2030', '{S1}', 'completed'), (${r2}, 'RA1', '1-2030', '{S2}', 'completed')`;
    await sql`
      INSERT INTO enrollments (id, student_id, section, course, term, request_id, status)
      VALUES (gen_random_uuid(), 'RA1', 'S1', 'C1', '1-2030', ${r1}, 'active'),
             (gen_random_uuid(), 'RA1', 'S2', 'C2', '1-2030', ${r2}, 'active')`;
    await sql`
      INSERT INTO sagas (id, name, status, steps)
      VALUES (${r1}, 'enrollment', 'completed', '[]'), (${r2}, 'enrollment', 'completed', '[]')`;
    const store = new PostgresCatalogStore(pool);
    const ops = new PostgresOpsStore(pool);
    await twoPages((page) => store.listTerms(page));
    await twoPages((page) => store.listSections(undefined, page));
    await twoPages((page) => store.listSections('1-2030', page));
    await twoPages((page) => store.listStudentEnrollments('RA1', undefined, page));
    await twoPages((page) => store.listStudentEnrollments('RA1', '1-2030', page));
    await twoPages((page) => ops.listSagas(undefined, page));
    await twoPages((page) => ops.listSagas('completed', page));
    await expectIndexOnly(sql, statements);
  });

  it('tasks, with each filter the endpoint takes', async () => {
    const { sql, pool, statements } = await capturing('worker');
    const parent = '00000000-0000-4000-8000-0000000000aa';
    await sql`INSERT INTO tasks (id, type, status) VALUES (${parent}, 'ingest', 'running')`;
    await sql`
      INSERT INTO tasks (id, type, status, parent_id, started_at)
      SELECT gen_random_uuid(), 'batch', 'running', ${parent}, now() - interval '2 hours' FROM generate_series(1, 3)`;
    await sql`INSERT INTO tasks (id, type, status) SELECT gen_random_uuid(), 'ingest', 'pending' FROM generate_series(1, 2)`;
    const store = new PostgresOnboardingStore(pool, 3600, { kick: () => undefined });
    for (const filter of [
      {},
      { type: 'batch' },
      { status: 'running' },
      { type: 'batch', status: 'running' },
      { parent_id: parent },
      { stuck: true },
      { stuck: false },
    ]) {
      await twoPages((page) => store.listTasks(filter, page)).catch((error: Error) => {
        throw new Error(`${JSON.stringify(filter)}: ${error.message}`);
      });
    }
    await expectIndexOnly(sql, statements);
  });
});
