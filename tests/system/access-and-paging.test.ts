import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, createRoom, day, eventually, startTestStack, token, waitForTerminal, type TestStack } from './support.js';

/**
 * Who may read what through the public API (the role matrix in the README), and every list
 * endpoint a page at a time, against the real services.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;

const GUEST = 'acc-guest-a';
const OTHER_GUEST = 'acc-guest-b';
const STUDENT = 'RA0003';
const OTHER_STUDENT = 'RA0004';
const personas = ['anonymous', 'guest', 'another guest', 'student', 'another student', 'admin'] as const;
type Persona = (typeof personas)[number];
const tokens = {} as Record<Persona, string | undefined>;

const fixture = {} as {
  roomId: number;
  bookingIds: string[];
  requestId: string;
  guestQueryId: string;
  rosterQueryId: string;
  taskId: string;
};

beforeAll(async () => {
  stack = await startTestStack('access', { replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 } });
  api = apiClient(stack.gatewayUrl);
  tokens.anonymous = undefined;
  tokens.guest = await token(GUEST, 'guest');
  tokens['another guest'] = await token(OTHER_GUEST, 'guest');
  tokens.student = await token(STUDENT, 'student');
  tokens['another student'] = await token(OTHER_STUDENT, 'student');
  tokens.admin = await token('acc-admin', 'admin');

  const room = await createRoom(api, { name: 'Access', total_quantity: 5 });
  fixture.roomId = room.id;
  fixture.bookingIds = [];
  for (let i = 0; i < 3; i++) {
    const booked = await api('POST', '/api/bookings', {
      token: tokens.guest,
      body: { room_id: room.id, check_in: day(1 + i), check_out: day(2 + i) },
    });
    expect(booked.status).toBe(201);
    fixture.bookingIds.push(booked.body.id);
  }
  const enrolled = await api('POST', '/api/enrollments', {
    token: tokens.student,
    body: { term: '1-2025', sections: ['G-MAT101-A', 'G-PRG101-A', 'G-HUM110-A'] },
  });
  expect(enrolled.status).toBe(202);
  fixture.requestId = enrolled.body.request_id;
  // More requests, so that the sagas list has pages.
  const others = await Promise.all(
    ['RA0010', 'RA0011', 'RA0012'].map(async (id) =>
      api('POST', '/api/enrollments', { token: await token(id, 'student'), body: { term: '1-2025', sections: ['G-HUM110-A'] } }),
    ),
  );
  const outcomes = await waitForTerminal(api, [fixture.requestId, ...others.map((r) => r.body.request_id)], tokens.admin!);
  expect(outcomes.get(fixture.requestId)?.status).toBe('completed');

  const asked = await api('POST', '/api/queries', {
    token: tokens.guest,
    body: { type: 'room_search', params: { from: day(1), to: day(3) } },
  });
  fixture.guestQueryId = asked.body.query_id;
  const roster = await api('POST', '/api/queries', {
    token: tokens.admin,
    body: { type: 'section_roster', params: { section: 'G-MAT101-A' } },
  });
  fixture.rosterQueryId = roster.body.query_id;
  for (let i = 0; i < 3; i++) {
    const ingest = await api('POST', '/api/admin/onboarding/ingest', {
      token: tokens.admin,
      body: { students: [{ id: `ACC${i}`, name: `Access ${i}`, email: `acc${i}@example.org` }] },
    });
    expect(ingest.status).toBe(202);
    fixture.taskId = ingest.body.task_id;
  }
});

afterAll(async () => {
  await stack?.close();
});

describe('who may read what', () => {
  // Expected status per persona: anonymous, guest (the booking's and query's owner), another
  // guest, student (the enrollment's owner), another student, admin.
  type Row = [name: string, method: string, path: () => string, statuses: number[], body?: unknown];
  const everyone = [200, 200, 200, 200, 200, 200];
  const signedIn = [401, 200, 200, 200, 200, 200];
  const ownerOrAdmin = (owner: 'guest' | 'student') =>
    owner === 'guest' ? [401, 200, 403, 403, 403, 200] : [401, 403, 403, 200, 403, 200];
  const adminOnly = [401, 403, 403, 403, 403, 200];
  const table: Row[] = [
    ['GET /api/rooms', 'GET', () => '/api/rooms', everyone],
    ['GET /api/rooms/{id}', 'GET', () => `/api/rooms/${fixture.roomId}`, everyone],
    ['GET /api/rooms/{id}/availability', 'GET', () => `/api/rooms/${fixture.roomId}/availability?from=${day(1)}&to=${day(3)}`, everyone],
    ['GET /api/terms', 'GET', () => '/api/terms', everyone],
    ['GET /api/sections', 'GET', () => '/api/sections?term=1-2025', everyone],
    ['GET /api/sections/{code}', 'GET', () => '/api/sections/G-MAT101-A', everyone],
    ['GET /api/bookings (own)', 'GET', () => '/api/bookings', signedIn],
    ['GET /api/bookings?user_id= (the guest)', 'GET', () => `/api/bookings?user_id=${GUEST}`, ownerOrAdmin('guest')],
    ['GET /api/bookings/{the guest’s}', 'GET', () => `/api/bookings/${fixture.bookingIds[0]}`, ownerOrAdmin('guest')],
    [
      'GET /api/enrollments/requests/{the student’s}',
      'GET',
      () => `/api/enrollments/requests/${fixture.requestId}`,
      ownerOrAdmin('student'),
    ],
    ['GET /api/students/{the student}/enrollments', 'GET', () => `/api/students/${STUDENT}/enrollments`, ownerOrAdmin('student')],
    [
      'POST /api/queries occupancy_report',
      'POST',
      () => '/api/queries',
      [401, 202, 202, 202, 202, 202],
      { type: 'occupancy_report', params: { from: day(1), to: day(3) } },
    ],
    [
      'POST /api/queries room_search',
      'POST',
      () => '/api/queries',
      [401, 202, 202, 202, 202, 202],
      { type: 'room_search', params: { from: day(1), to: day(3) } },
    ],
    [
      'POST /api/queries section_roster',
      'POST',
      () => '/api/queries',
      [401, 403, 403, 403, 403, 202],
      { type: 'section_roster', params: { section: 'G-MAT101-A' } },
    ],
    ['GET /api/queries/{the guest’s}', 'GET', () => `/api/queries/${fixture.guestQueryId}`, ownerOrAdmin('guest')],
    ['GET /api/queries/{an admin’s roster}', 'GET', () => `/api/queries/${fixture.rosterQueryId}`, adminOnly],
    ['GET /api/admin/tasks', 'GET', () => '/api/admin/tasks', adminOnly],
    ['GET /api/admin/tasks/{id}', 'GET', () => `/api/admin/tasks/${fixture.taskId}`, adminOnly],
    ['GET /api/admin/config', 'GET', () => '/api/admin/config', adminOnly],
    ['GET /api/ops/stats', 'GET', () => '/api/ops/stats', adminOnly],
    ['GET /api/ops/circuit-breakers', 'GET', () => '/api/ops/circuit-breakers', adminOnly],
    ['GET /api/ops/sagas', 'GET', () => '/api/ops/sagas', adminOnly],
  ];

  it.each(table)('%s answers each role as the matrix says', async (_name, method, path, statuses, body) => {
    const got = await Promise.all(personas.map(async (persona) => (await api(method, path(), { token: tokens[persona], body })).status));
    expect(Object.fromEntries(personas.map((p, i) => [p, got[i]]))).toEqual(Object.fromEntries(personas.map((p, i) => [p, statuses[i]])));
  });

  it('lists only the caller’s own bookings, and everyone’s to an admin', async () => {
    const ids = async (persona: Persona) =>
      (await api('GET', '/api/bookings?limit=200', { token: tokens[persona] })).body as { id: string; user_id: string }[];
    expect((await ids('guest')).map((b) => b.id).sort()).toEqual([...fixture.bookingIds].sort());
    for (const persona of ['another guest', 'student', 'another student'] as const) expect(await ids(persona)).toEqual([]);
    expect((await ids('admin')).map((b) => b.id)).toEqual(expect.arrayContaining(fixture.bookingIds));
  });

  it('never records a roster asked for by anyone but an admin, and shows one only to an admin', async () => {
    const rosters = await stack.workerDb<{ requested_by: string }[]>`SELECT requested_by FROM queries WHERE type = 'section_roster'`;
    expect(rosters.length).toBeGreaterThan(0);
    expect(rosters.every((r) => r.requested_by === 'acc-admin')).toBe(true);

    const answered = await eventually(
      async () => (await api('GET', `/api/queries/${fixture.rosterQueryId}`, { token: tokens.admin })).body.status === 'completed',
    );
    expect(answered).toBe(true);
    const view = (await api('GET', `/api/queries/${fixture.rosterQueryId}`, { token: tokens.admin })).body;
    expect(view.result.students).toEqual(
      expect.arrayContaining([expect.objectContaining({ student_id: STUDENT, email: expect.any(String) })]),
    );

    // A roster a guest got recorded before the rule (or while an admin): its owner cannot read it now.
    const [old] = await stack.workerDb<{ id: string }[]>`
      INSERT INTO queries (id, type, params, requested_by, status, result, processed_at, deadline_at)
      VALUES (gen_random_uuid(), 'section_roster', '{"section":"G-MAT101-A"}', ${GUEST}, 'completed', '{"students":[]}', now(), now())
      RETURNING id`;
    const read = await api('GET', `/api/queries/${old!.id}`, { token: tokens.guest });
    expect(read.status).toBe(403);
    expect(read.body).toMatchObject({ code: 'FORBIDDEN' });
    expect(read.body.result).toBeUndefined();
  });
});

/** An item of one of the lists, as JSON: each list's test reads the one field that keys it. */
type Item = Record<string, unknown>;

/** Follows `Link: <…>; rel="next"` from `path` to the end; returns each page's items. */
async function walk(path: string, persona: Persona, onPage?: (n: number) => Promise<void>): Promise<Item[][]> {
  const pages: Item[][] = [];
  let next: string | undefined = path;
  while (next) {
    const response = await api<Item[]>('GET', next, { token: tokens[persona] });
    expect(response.status, `${next}: ${JSON.stringify(response.body)}`).toBe(200);
    expect(Array.isArray(response.body)).toBe(true);
    pages.push(response.body);
    next = nextLink(response.headers);
    await onPage?.(pages.length);
    if (pages.length > 100) throw new Error(`${path}: no end in sight`);
  }
  return pages;
}

function nextLink(headers: Headers): string | undefined {
  const link = headers.get('link');
  if (!link) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(link);
  if (!match) throw new Error(`not a next link: ${link}`);
  return match[1];
}

describe('lists, a page at a time', () => {
  const lists: [path: string, persona: Persona, key: (item: Item) => string][] = [
    ['/api/rooms', 'anonymous', (r) => String(r.id)],
    ['/api/terms', 'anonymous', (t) => t.code as string],
    ['/api/sections', 'anonymous', (s) => s.code as string],
    ['/api/sections?term=1-2025', 'anonymous', (s) => s.code as string],
    ['/api/bookings', 'guest', (b) => b.id as string],
    [`/api/students/${STUDENT}/enrollments`, 'student', (e) => e.id as string],
    ['/api/admin/tasks?type=ingest', 'admin', (t) => t.id as string],
    ['/api/ops/sagas', 'admin', (s) => s.saga_id as string],
  ];

  beforeAll(async () => {
    // The seed has two terms; a third makes more than one page of two.
    await stack.enrollmentDb`INSERT INTO terms (code, name, open) VALUES ('3-2099', 'Far away', false)`;
  });

  it.each(lists)('%s in pages of 2 adds up to the whole list, in its order', async (path, persona, key) => {
    const whole = (await api<Item[]>('GET', `${path}${path.includes('?') ? '&' : '?'}limit=200`, { token: tokens[persona] })).body.map(key);
    expect(whole.length).toBeGreaterThanOrEqual(3);
    const pages = await walk(`${path}${path.includes('?') ? '&' : '?'}limit=2`, persona);
    expect(pages.length).toBe(Math.ceil(whole.length / 2));
    expect(pages.slice(0, -1).every((page) => page.length === 2)).toBe(true);
    expect(pages.flat().map(key)).toEqual(whole);
  });

  it('keeps the filters in the next link', async () => {
    const response = await api('GET', `/api/bookings?user_id=${GUEST}&limit=1`, { token: tokens.admin });
    expect(nextLink(response.headers)).toMatch(new RegExp(`^/api/bookings\\?user_id=${GUEST}&limit=1&cursor=[\\w-]+$`));
    const tasks = await api('GET', '/api/admin/tasks?type=ingest&limit=1', { token: tokens.admin });
    expect(nextLink(tasks.headers)).toMatch(/^\/api\/admin\/tasks\?type=ingest&limit=1&cursor=[\w-]+$/);
  });

  it('pages 50 by default and 200 at most, through ties and bookings a microsecond apart', async () => {
    const user = 'acc-many';
    // 150 bookings made in one statement share created_at; 3 more lie within one millisecond.
    await stack.bookingDb`
      INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status, created_at)
      SELECT gen_random_uuid(), ${user}, ${fixture.roomId}, ${day(1)}, ${day(2)}, 1, 'confirmed', '2030-01-01 00:00:00+00'
      FROM generate_series(1, 150)`;
    await stack.bookingDb`
      INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status, created_at)
      SELECT gen_random_uuid(), ${user}, ${fixture.roomId}, ${day(1)}, ${day(2)}, 1, 'confirmed', t::timestamptz
      FROM unnest(ARRAY['2030-01-02 00:00:00.000101+00', '2030-01-02 00:00:00.000102+00', '2030-01-02 00:00:00.000103+00']) AS t`;
    const expected = (
      await stack.bookingDb<{ id: string }[]>`SELECT id FROM bookings WHERE user_id = ${user} ORDER BY created_at DESC, id DESC`
    ).map((r) => r.id);
    const me = await token(user, 'guest');

    const first = await api('GET', '/api/bookings', { token: me });
    expect(first.body).toHaveLength(50);
    expect(nextLink(first.headers)).toBeDefined();

    const walked: string[] = [];
    let next: string | undefined = '/api/bookings?limit=200';
    const sizes: number[] = [];
    while (next) {
      const page = await api('GET', next, { token: me });
      sizes.push(page.body.length);
      walked.push(...page.body.map((b: { id: string }) => b.id));
      next = nextLink(page.headers);
    }
    expect(sizes).toEqual([153]);
    expect(walked).toEqual(expected);

    const byFifty: string[] = [];
    next = '/api/bookings?limit=50';
    while (next) {
      const page = await api('GET', next, { token: me });
      byFifty.push(...page.body.map((b: { id: string }) => b.id));
      next = nextLink(page.headers);
    }
    expect(byFifty).toEqual(expected);
  });

  it('neither repeats nor skips a row when rows are added while a client pages', async () => {
    const user = 'acc-busy';
    const me = await token(user, 'guest');
    const insert = (n: number) => stack.bookingDb`
      INSERT INTO bookings (id, user_id, room_id, check_in, check_out, nights, status)
      SELECT gen_random_uuid(), ${user}, ${fixture.roomId}, ${day(1)}, ${day(2)}, 1, 'confirmed' FROM generate_series(1, ${n})`;
    await insert(25);
    const before = (
      await stack.bookingDb<{ id: string }[]>`SELECT id FROM bookings WHERE user_id = ${user} ORDER BY created_at DESC, id DESC`
    ).map((r) => r.id);
    const seen: string[] = [];
    let next: string | undefined = '/api/bookings?limit=10';
    while (next) {
      const page = await api('GET', next, { token: me });
      seen.push(...page.body.map((b: { id: string }) => b.id));
      next = nextLink(page.headers);
      // Newer bookings arrive between pages: an offset would now shift and repeat rows.
      await insert(7);
    }
    expect(seen).toEqual(before);
  });

  it('refuses a bad limit or cursor with the offending field', async () => {
    const forged = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
    const rooms = await api('GET', '/api/rooms?limit=1');
    const roomsCursor = new URL(nextLink(rooms.headers)!, 'http://x').searchParams.get('cursor')!;
    const cases: [string, string][] = [
      ['/api/rooms?limit=0', 'limit'],
      ['/api/rooms?limit=201', 'limit'],
      ['/api/rooms?limit=ten', 'limit'],
      ['/api/rooms?cursor=not-a-cursor', 'cursor'],
      ['/api/terms?cursor=' + roomsCursor, 'cursor'],
      [`/api/bookings?cursor=${'x'.repeat(600)}`, 'cursor'],
      ['/api/sections?page=2', ''],
      // Forged cursors whose keys no column could hold: a 400, never odd input to SQL (a 500).
      ['/api/terms?cursor=' + forged(['terms', 'a\u0000b']), 'cursor'],
      ['/api/sections?cursor=' + forged(['sections', '1-2025', 'x\u0000']), 'cursor'],
      ['/api/rooms?cursor=' + forged(['rooms', 2_147_483_648]), 'cursor'],
      ['/api/rooms?cursor=' + forged(['rooms', Number.MAX_SAFE_INTEGER]), 'cursor'],
    ];
    for (const [path, field] of cases) {
      const response = await api('GET', path, { token: tokens.guest });
      expect(response.status, path).toBe(400);
      expect(response.body.code, path).toBe('VALIDATION_FAILED');
      if (field)
        expect(
          response.body.errors.map((e: { path: string }) => e.path),
          path,
        ).toContain(field);
    }
  });
});
