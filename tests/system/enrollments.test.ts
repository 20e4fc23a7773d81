import { type Enrollment, type EnrollmentRequestView, type SagaSummary, type Section } from '@cupo/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createSection,
  enrollmentInvariantViolations,
  startTestStack,
  token,
  waitForTerminal,
  type ApiResponse,
  type Problem,
  type TestStack,
} from './support.js';

const students = (from: number, count: number) => Array.from({ length: count }, (_, i) => `RA${String(from + i).padStart(4, '0')}`);

describe('course enrollment (2 enrollment replicas, real servers)', () => {
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let admin: string;

  beforeAll(async () => {
    stack = await startTestStack('enroll', { replicas: { inventory: 0, booking: 0, enrollment: 2 } });
    api = apiClient(stack.gatewayUrl);
    admin = await token('admin-1', 'admin');
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function submit(student: string, sections: string[], headers: Record<string, string> = {}) {
    return api('POST', '/api/enrollments', {
      token: await token(student, 'student'),
      body: { term: '1-2025', sections },
      headers,
    });
  }

  it('gives the one seat of G-ELC108-E to one of ten students; nine fail SECTION_FULL', async () => {
    const ten = students(1, 10);
    const accepted = await Promise.all(ten.map((s) => submit(s, ['G-ELC108-E'])));
    for (const response of accepted) {
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ status: 'queued', status_url: `/api/enrollments/requests/${response.body.request_id}` });
    }
    const final = await waitForTerminal(
      api,
      accepted.map((r) => r.body.request_id),
      admin,
    );
    const views = [...final.values()];
    expect(views).toHaveLength(10);
    expect(views.filter((v) => v.status === 'completed')).toHaveLength(1);
    const failed = views.filter((v) => v.status === 'failed');
    expect(failed).toHaveLength(9);
    for (const view of failed) {
      expect(view.error).toEqual({ code: 'SECTION_FULL', detail: "Section 'G-ELC108-E' has no seats available" });
      expect(view.sections).toEqual([
        { code: 'G-ELC108-E', status: 'failed', error: { code: 'SECTION_FULL', detail: "Section 'G-ELC108-E' has no seats available" } },
      ]);
    }
    const section = await api('GET', '/api/sections/G-ELC108-E');
    expect(section.body).toMatchObject({ capacity: 1, enrolled: 1 });
    expect(await enrollmentInvariantViolations(stack)).toEqual([]);
  });

  it('is all or nothing: 40 students asking for [S (7 seats), T (40 seats)] leave 7 in each', async () => {
    const mon = [{ day: 'mon', start: '14:00', end: '15:00' }];
    const tue = [{ day: 'tue', start: '14:00', end: '15:00' }];
    await createSection(api, { code: 'SAGA-S', course: 'SAGAS', capacity: 7, schedule: mon });
    await createSection(api, { code: 'SAGA-T', course: 'SAGAT', capacity: 40, schedule: tue });
    // Students created for this test, so earlier tests' enrollments do not interfere.
    const forty = Array.from({ length: 40 }, (_, i) => `SG${String(i).padStart(3, '0')}`);
    for (const id of forty) {
      const created = await api('POST', '/api/admin/students', { token: admin, body: { id, name: id, email: `${id}@t.test` } });
      expect(created.status).toBe(201);
    }
    const accepted = await Promise.all(forty.map((s, i) => submit(s, i % 2 === 0 ? ['SAGA-S', 'SAGA-T'] : ['SAGA-T', 'SAGA-S'])));
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    const final = await waitForTerminal(
      api,
      accepted.map((r) => r.body.request_id),
      admin,
    );
    const views = [...final.values()];
    expect(views).toHaveLength(40);
    const completed = views.filter((v) => v.status === 'completed');
    expect(completed).toHaveLength(7);
    for (const view of completed) expect(view.sections.every((s) => s.status === 'enrolled')).toBe(true);
    for (const view of views.filter((v) => v.status === 'failed')) expect(view.error!.code).toBe('SECTION_FULL');
    // Those who took T before S was refused were given T back.
    const released = views.filter((v) => v.sections.some((s) => s.status === 'released'));
    expect(released.length).toBeGreaterThan(0);
    const s = await api('GET', '/api/sections/SAGA-S');
    const t = await api('GET', '/api/sections/SAGA-T');
    expect(s.body.enrolled).toBe(7);
    expect(t.body.enrolled).toBe(7);
    const compensated = await api<SagaSummary[]>('GET', '/api/ops/sagas?status=compensated', { token: admin });
    expect(compensated.status).toBe(200);
    expect(compensated.body.length).toBe(released.length);
    expect(compensated.body[0]!.steps.some((step) => step.status === 'compensated')).toBe(true);
    expect(await enrollmentInvariantViolations(stack)).toEqual([]);
  });

  it('refuses overlapping sections inside one request, and against existing enrollments', async () => {
    // Seed: G-MAT101-A (mon/wed 09:00-10:40) overlaps G-FIS101-B (mon/wed 09:30-11:10).
    const inside = await submit('RA0030', ['G-MAT101-A', 'G-FIS101-B']);
    const [insideView] = [...(await waitForTerminal(api, [inside.body.request_id], admin)).values()];
    expect(insideView.status).toBe('failed');
    expect(insideView.error.code).toBe('SCHEDULE_CONFLICT');
    expect(insideView.error.detail).toContain("'G-FIS101-B'");

    const first = await submit('RA0031', ['G-MAT101-A']);
    const [firstView] = [...(await waitForTerminal(api, [first.body.request_id], admin)).values()];
    expect(firstView.status).toBe('completed');
    const second = await submit('RA0031', ['G-FIS101-B', 'G-PRG101-A']);
    const [secondView] = [...(await waitForTerminal(api, [second.body.request_id], admin)).values()];
    expect(secondView.status).toBe('failed');
    expect(secondView.error.code).toBe('SCHEDULE_CONFLICT');
    expect(secondView!.sections.find((s) => s.code === 'G-PRG101-A')!.status).toBe('not_attempted');

    // A second section of a course already taken is ALREADY_ENROLLED.
    const again = await submit('RA0031', ['G-MAT101-B']);
    const [againView] = [...(await waitForTerminal(api, [again.body.request_id], admin)).values()];
    expect(againView.error.code).toBe('ALREADY_ENROLLED');

    const mine = await api<Enrollment[]>('GET', '/api/students/RA0031/enrollments?term=1-2025', {
      token: await token('RA0031', 'student'),
    });
    expect(mine.status).toBe(200);
    expect(mine.body.map((e) => e.section)).toEqual(['G-MAT101-A']);
    expect(await enrollmentInvariantViolations(stack)).toEqual([]);
  });

  it('drops an enrollment: the seat returns, once', async () => {
    const student = await token('RA0040', 'student');
    const request = await submit('RA0040', ['G-HUM110-A']);
    await waitForTerminal(api, [request.body.request_id], admin);
    const before = (await api('GET', '/api/sections/G-HUM110-A')).body.enrolled;
    const [enrollment] = (await api('GET', '/api/students/RA0040/enrollments', { token: student })).body;
    expect(enrollment).toMatchObject({ section: 'G-HUM110-A', course: 'HUM110', term: '1-2025', status: 'active' });

    const other = await api('DELETE', `/api/enrollments/${enrollment.id}`, { token: await token('RA0041', 'student') });
    expect(other.status).toBe(403);
    const dropped = await api('DELETE', `/api/enrollments/${enrollment.id}`, { token: student });
    expect(dropped.status).toBe(200);
    expect(dropped.body.status).toBe('dropped');
    const twice = await api('DELETE', `/api/enrollments/${enrollment.id}`, { token: student });
    expect(twice.status).toBe(200);
    expect((await api('GET', '/api/sections/G-HUM110-A')).body.enrolled).toBe(before - 1);
    expect((await api('GET', '/api/students/RA0040/enrollments', { token: student })).body).toEqual([]);
  });

  it('shares one request and one outcome among parallel identical submissions', async () => {
    const same = await Promise.all(Array.from({ length: 8 }, () => submit('RA0042', ['G-PRG101-A'])));
    expect(same.every((r) => r.status === 202)).toBe(true);
    expect(new Set(same.map((r) => r.body.request_id)).size).toBe(1);
    expect(same.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);

    const keyed = await Promise.all(Array.from({ length: 5 }, () => submit('RA0043', ['G-PRG101-A'], { 'idempotency-key': 'k-1' })));
    expect(new Set(keyed.map((r) => r.body.request_id)).size).toBe(1);
    const reused = await submit('RA0043', ['G-HUM110-A'], { 'idempotency-key': 'k-1' });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const final = await waitForTerminal(api, [same[0]!.body.request_id, keyed[0]!.body.request_id], admin);
    expect([...final.values()].map((v) => v.status)).toEqual(['completed', 'completed']);
    const count = await stack.enrollmentDb<{ n: number }[]>`
      SELECT count(*)::int AS n FROM enrollment_requests WHERE student_id IN ('RA0042', 'RA0043')`;
    expect(count[0]!.n).toBe(2);

    // Forgetting the key lets the same key start a new request.
    const forgot = await api('DELETE', '/api/ops/idempotency/enrollment:6:RA0043:k-1', { token: admin });
    expect(forgot.status).toBe(200);
    const fresh = await submit('RA0043', ['G-HUM110-A'], { 'idempotency-key': 'k-1' });
    expect(fresh.status).toBe(202);
    expect(fresh.body.request_id).not.toBe(keyed[0]!.body.request_id);
  });

  it('answers every contract error with its status and code, and changes nothing', async () => {
    const countRequests = async () => (await stack.enrollmentDb<{ n: number }[]>`SELECT count(*)::int AS n FROM enrollment_requests`)[0]!.n;
    const before = await countRequests();
    const student = await token('RA0044', 'student');
    const cases: [string, Promise<ApiResponse<Problem | undefined>>, number, string][] = [
      ['no token', api('POST', '/api/enrollments', { body: { term: '1-2025', sections: ['G-PRG101-A'] } }), 401, 'UNAUTHORIZED'],
      [
        'a guest',
        api('POST', '/api/enrollments', { token: await token('g-1', 'guest'), body: { term: '1-2025', sections: ['G-PRG101-A'] } }),
        403,
        'FORBIDDEN',
      ],
      [
        'no sections',
        api('POST', '/api/enrollments', { token: student, body: { term: '1-2025', sections: [] } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'repeated section',
        api('POST', '/api/enrollments', { token: student, body: { term: '1-2025', sections: ['A', 'A'] } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'unknown field',
        api('POST', '/api/enrollments', { token: student, body: { term: '1-2025', sections: ['A'], x: 1 } }),
        400,
        'VALIDATION_FAILED',
      ],
      ['not json', api('POST', '/api/enrollments', { token: student, rawBody: '{nope' }), 400, 'VALIDATION_FAILED'],
      [
        'unknown request',
        api('GET', '/api/enrollments/requests/00000000-0000-4000-8000-000000000000', { token: student }),
        404,
        'REQUEST_NOT_FOUND',
      ],
      ['bad request id', api('GET', '/api/enrollments/requests/nope', { token: student }), 404, 'REQUEST_NOT_FOUND'],
      ['unknown section', api('GET', '/api/sections/NOPE-1'), 404, 'SECTION_NOT_FOUND'],
      ['bad term filter', api('GET', '/api/sections?term=%20'), 400, 'VALIDATION_FAILED'],
      ["someone else's enrollments", api('GET', '/api/students/RA0001/enrollments', { token: student }), 403, 'FORBIDDEN'],
      [
        'unknown enrollment',
        api('DELETE', '/api/enrollments/00000000-0000-4000-8000-000000000000', { token: student }),
        404,
        'ENROLLMENT_NOT_FOUND',
      ],
      ['admin route as student', api('POST', '/api/admin/sections', { token: student, body: {} }), 403, 'FORBIDDEN'],
      [
        'bad section',
        api('POST', '/api/admin/sections', {
          token: admin,
          body: { code: 'X-1', course: 'C', term: '1-2025', capacity: 0, schedule: [{ day: 'mon', start: '10:00', end: '09:00' }] },
        }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'duplicate section',
        api('POST', '/api/admin/sections', {
          token: admin,
          body: { code: 'G-ELC108-E', course: 'ELC108', term: '1-2025', capacity: 5, schedule: [] },
        }),
        409,
        'SECTION_EXISTS',
      ],
      [
        'section in unknown term',
        api('POST', '/api/admin/sections', { token: admin, body: { code: 'X-2', course: 'C', term: '9-2099', capacity: 5, schedule: [] } }),
        404,
        'TERM_NOT_FOUND',
      ],
      [
        'duplicate student',
        api('POST', '/api/admin/students', { token: admin, body: { id: 'RA0001', name: 'x', email: 'x@example.com' } }),
        409,
        'STUDENT_EXISTS',
      ],
      [
        'bad student',
        api('POST', '/api/admin/students', { token: admin, body: { id: 'RA 1', name: '', email: 'no' } }),
        400,
        'VALIDATION_FAILED',
      ],
      ['ops as student', api('GET', '/api/ops/stats', { token: student }), 403, 'FORBIDDEN'],
      ['unknown breaker', api('POST', '/api/ops/circuit-breakers/nope/reset', { token: admin }), 404, 'CIRCUIT_BREAKER_NOT_FOUND'],
      ['purge running sagas', api('DELETE', '/api/ops/sagas?status=running', { token: admin }), 400, 'VALIDATION_FAILED'],
    ];
    for (const [name, pending, status, code] of cases) {
      const response = await pending;
      expect({ name, status: response.status, code: response.body?.code }).toEqual({ name, status, code });
    }
    expect(await countRequests()).toBe(before);

    // Refusals decided by processing end the request `failed` with their code.
    const refusals: [string, string[], string, string][] = [
      ['RA0044', ['NOPE-1'], '1-2025', 'SECTION_NOT_FOUND'],
      ['RA0044', ['G-MAT101-X'], '2-2024', 'TERM_CLOSED'],
      ['RA0044', ['G-MAT101-A'], '7-2031', 'TERM_NOT_FOUND'],
      ['ZZ9999', ['G-MAT101-A'], '1-2025', 'STUDENT_NOT_FOUND'],
      ['RA0044', ['G-MAT101-X'], '1-2025', 'SECTION_NOT_FOUND'],
    ];
    const accepted = await Promise.all(
      refusals.map(async ([who, sections, term]) =>
        api('POST', '/api/enrollments', { token: await token(who, 'student'), body: { term, sections } }),
      ),
    );
    const final = await waitForTerminal(
      api,
      accepted.map((r) => r.body.request_id),
      admin,
    );
    expect(accepted.map((r) => final.get(r.body.request_id)?.error?.code)).toEqual(refusals.map((r) => r[3]));
    expect(await enrollmentInvariantViolations(stack)).toEqual([]);
  });

  it('reports queues, tasks, breakers, sagas and idempotency entries to admins', async () => {
    const stats = await api('GET', '/api/ops/stats', { token: admin });
    expect(stats.status).toBe(200);
    expect(stats.body.queues['enrollment.requests']).toMatchObject({ consumers: 2 });
    expect(stats.body.queues['enrollment.requests.dead']).toMatchObject({ messages: 0 });
    expect(stats.body.tasks.completed).toBeGreaterThan(0);
    expect(stats.body.tasks.failed).toBeGreaterThan(0);
    expect(stats.body.sagas.compensated).toBeGreaterThan(0);
    expect(stats.body.idempotency.entries).toBeGreaterThan(0);
    expect(Object.keys(stats.body.circuit_breakers).sort()).toEqual(['postgres', 'publishing', 'redis']);

    const breakers = await api('GET', '/api/ops/circuit-breakers', { token: admin });
    expect(breakers.body).toMatchObject({ overall_health: 'healthy', degraded_services: [] });
    expect(breakers.body.circuit_breakers.postgres.instances).toHaveLength(2);
    expect(breakers.body.circuit_breakers.postgres).toMatchObject({ state: 'closed', failure_count: 0 });

    const purged = await api('DELETE', '/api/ops/sagas?status=completed&older_than_seconds=0', { token: admin });
    expect(purged.status).toBe(200);
    expect(purged.body.purged).toBeGreaterThan(0);
    expect(purged.body.complete).toBe(true);
    expect((await api('GET', '/api/ops/sagas?status=completed', { token: admin })).body).toEqual([]);

    const terms = await api('GET', '/api/terms');
    expect(terms.body).toContainEqual({ code: '1-2025', name: expect.any(String), open: true });
    const sections = await api<Section[]>('GET', '/api/sections?term=1-2025');
    expect(sections.body.find((s) => s.code === 'G-ELC108-E')).toMatchObject({
      capacity: 1,
      course: 'ELC108',
      course_name: 'Electronics I',
      term: '1-2025',
    });
    expect((await api('GET', '/api/sections/G-MAT101-A')).body).toMatchObject({ course: 'MAT101', course_name: 'Calculus I' });
  });

  it('lists a student’s own requests, the open ones while they are in progress, a page at a time', async () => {
    const student = await token('RA0045', 'student');
    const list = (query: string, as = student) => api<EnrollmentRequestView[]>('GET', `/api/enrollments/requests${query}`, { token: as });
    // The saga takes the student's row lock before each seat: holding it keeps the request open.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = stack.enrollmentDb.begin(async (tx) => {
      await tx`SELECT 1 FROM students WHERE id = 'RA0045' FOR UPDATE`;
      locked();
      await released;
    });
    await isLocked;
    const first = await submit('RA0045', ['G-FIS101-A']);
    expect(first.status).toBe(202);
    try {
      const open = await list('?status=open');
      expect(open.status).toBe(200);
      expect(open.body).toEqual([
        expect.objectContaining({ request_id: first.body.request_id, status: expect.stringMatching(/^(queued|processing)$/) }),
      ]);
      expect(open.body[0].sections).toEqual([{ code: 'G-FIS101-A', status: expect.stringMatching(/^(pending|reserved)$/) }]);
      expect((await list('?status=open', await token('RA0046', 'student'))).body).toEqual([]);
    } finally {
      release();
      await holder;
    }
    await waitForTerminal(api, [first.body.request_id], admin);
    expect((await list('?status=open')).body).toEqual([]);
    const second = await submit('RA0045', ['G-PRG101-A']);
    await waitForTerminal(api, [second.body.request_id], admin);

    const page1 = await list('?limit=1');
    expect(page1.body.map((r) => r.request_id)).toEqual([second.body.request_id]);
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get('link') ?? '')?.[1];
    expect(next).toMatch(/^\/api\/enrollments\/requests\?limit=1&cursor=/);
    const page2 = await api('GET', next!, { token: student });
    expect(page2.body).toEqual([expect.objectContaining({ request_id: first.body.request_id, status: 'completed' })]);
    expect(page2.headers.get('link')).toBeNull();
    expect((await list('?status=completed&limit=5')).body).toHaveLength(2);

    expect((await list('?cursor=bm90LWEtY3Vyc29y')).status).toBe(400);
    expect((await list('?status=lost')).status).toBe(400);
    expect((await list('', await token('guest-9', 'guest'))).status).toBe(403);
    expect((await api('GET', '/api/enrollments/requests')).status).toBe(401);
  });
});
