import { stopProcess, TcpProxy, type ServiceProcess } from '@cupo/stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createSection,
  enrollmentInvariantViolations,
  eventually,
  startTestStack,
  token,
  waitForTerminal,
  type BreakersView,
  type TestStack,
} from './support.js';

/**
 * Breaking enrollment on purpose: consumers killed, the broker connection cut, PostgreSQL
 * refused, a message that can never be processed. Retry and breaker timings are short so
 * the file settles fast; the logic is the production one.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;
const replicas: ServiceProcess[] = [];
const proxies: TcpProxy[] = [];

const FAST = {
  JOB_PREFETCH: '4',
  JOB_MAX_ATTEMPTS: '3',
  JOB_RETRY_INITIAL_MS: '50',
  JOB_RETRY_MAX_MS: '800',
  // Long enough that the fast-503 check lands while the breaker is still open on a loaded machine.
  DATABASE_CIRCUIT_RECOVERY_TIMEOUT: '4',
  RECOVERY_INTERVAL_MS: '500',
  STALE_REQUEST_MS: '8000',
};

beforeAll(async () => {
  stack = await startTestStack('enrfaults', {
    replicas: { inventory: 0, booking: 0, enrollment: 0 },
    serviceEnv: { enrollment: FAST },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('admin-1', 'admin');
});

afterEach(async () => {
  await Promise.all(replicas.splice(0).map((proc) => stopProcess(proc)));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  await stack?.close();
});

async function startReplicas(count: number, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess[]> {
  const started = await Promise.all(Array.from({ length: count }, () => stack.startReplica('enrollment', env)));
  replicas.push(...started);
  return started;
}

async function proxyTo(url: string): Promise<TcpProxy> {
  const parsed = new URL(url);
  const proxy = await new TcpProxy({ host: parsed.hostname, port: Number(parsed.port) }).start();
  proxies.push(proxy);
  return proxy;
}

/** Sections A (mon), B (tue), C (wed, `cCapacity` seats) and `count` new students, for one scenario. */
async function scenario(tag: string, count: number, cCapacity: number) {
  const at = (day: string) => [{ day, start: '18:00', end: '19:00' }];
  const codes = ['A', 'B', 'C'].map((letter) => `${tag}-${letter}`);
  await createSection(api, { code: codes[0]!, course: `${tag}A`, capacity: count, schedule: at('mon') });
  await createSection(api, { code: codes[1]!, course: `${tag}B`, capacity: count, schedule: at('tue') });
  await createSection(api, { code: codes[2]!, course: `${tag}C`, capacity: cCapacity, schedule: at('wed') });
  const students = Array.from({ length: count }, (_, i) => `${tag}${String(i).padStart(3, '0')}`);
  await Promise.all(
    students.map((id) => api('POST', '/api/admin/students', { token: admin, body: { id, name: id, email: `${id}@t.test` } })),
  );
  return { codes, students };
}

/**
 * Submits one three-section request per student, a few at a time, calling `midway` once
 * half have been accepted. Returns the ids of the accepted (202) requests.
 */
async function burst(students: string[], codes: string[], midway: () => Promise<void> | void): Promise<string[]> {
  const accepted: string[] = [];
  let next = 0;
  let fired = false;
  const worker = async () => {
    while (next < students.length) {
      const student = students[next++]!;
      const response = await api('POST', '/api/enrollments', {
        token: await token(student, 'student'),
        body: { term: '1-2025', sections: codes },
      });
      if (response.status === 202) accepted.push(response.body.request_id);
      if (!fired && accepted.length >= students.length / 2) {
        fired = true;
        await midway();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return accepted;
}

/**
 * Every accepted request ends, and each section holds exactly the seats of the completed
 * requests for it. Completed requests are counted in the database, not from the 202s: a
 * request can commit and still lose its answer on the way back (the cut came between the
 * commit and the reply) — the client then retries with the same key and is told the same
 * request. Such a request must end like any other, so it is waited for too.
 */
async function expectAllSettled(accepted: string[], codes: string[], cCapacity: number) {
  const final = await waitForTerminal(api, accepted, admin, 60_000);
  expect(final.size).toBe(accepted.length);
  const requestsFor = () => stack.enrollmentDb<{ id: string; status: string }[]>`
    SELECT id, status FROM enrollment_requests WHERE sections && ${codes}::text[]`;
  expect(await eventually(async () => (await requestsFor()).every((r) => r.status === 'completed' || r.status === 'failed'), 30_000)).toBe(
    true,
  );
  const completed = (await requestsFor()).filter((r) => r.status === 'completed').length;
  expect(completed).toBeLessThanOrEqual(cCapacity);
  // All or nothing: every section holds exactly the completed requests' seats.
  for (const code of codes) {
    const section = await api('GET', `/api/sections/${code}`);
    expect({ code, enrolled: section.body.enrolled }).toEqual({ code, enrolled: completed });
  }
  expect(await enrollmentInvariantViolations(stack)).toEqual([]);
  return { final, completed };
}

describe('enrollment under faults', () => {
  it('finishes every accepted request when a consumer is SIGKILLed mid-burst', async () => {
    const [victim] = await startReplicas(2);
    const { codes, students } = await scenario('KL', 120, 30);
    const accepted = await burst(students, codes, async () => {
      victim!.child.kill('SIGKILL');
      await startReplicas(1);
    });
    expect(accepted.length).toBe(120);
    const { completed } = await expectAllSettled(accepted, codes, 30);
    expect(completed).toBe(30);
    expect(victim!.child.signalCode).toBe('SIGKILL');
  });

  it('finishes every accepted request when the RabbitMQ connection is cut mid-burst', async () => {
    const amqp = await proxyTo(stack.amqpUrl);
    await startReplicas(2, { AMQP_URL: amqp.rewrite(stack.amqpUrl) });
    const { codes, students } = await scenario('AM', 100, 25);
    const accepted = await burst(students, codes, () => amqp.cutAll());
    expect(accepted.length).toBeGreaterThan(50);
    await expectAllSettled(accepted, codes, 25);
  });

  it('opens the PostgreSQL breaker while the database is unreachable (fast 503s), then closes it and finishes the queue', async () => {
    const pg = await proxyTo(stack.databaseUrls.enrollment);
    await startReplicas(2, { DATABASE_URL: pg.rewrite(stack.databaseUrls.enrollment) });
    const { codes, students } = await scenario('PG', 60, 20);
    let refusedAt = 0;
    const accepted = await burst(students.slice(0, 40), codes, () => {
      pg.refuse(true);
      refusedAt = Date.now();
    });
    const student = await token(students[59]!, 'student');
    const submitWhileDown = () => api('POST', '/api/enrollments', { token: student, body: { term: '1-2025', sections: codes } });

    // Each replica's breaker opens after its third failed call; ops reports it.
    expect(
      await eventually(
        async () => {
          await submitWhileDown();
          const report = await api<BreakersView>('GET', '/api/ops/circuit-breakers', { token: admin });
          return report.body.circuit_breakers?.postgres?.instances.filter((i) => i.state === 'open').length === 2;
        },
        10_000,
        50,
      ),
    ).toBe(true);
    const report = await api('GET', '/api/ops/circuit-breakers', { token: admin });
    expect(report.body).toMatchObject({ overall_health: 'degraded', degraded_services: ['postgres'] });

    const down = await submitWhileDown();
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(down.body.detail).toContain('circuit open');
    expect(down.headers.get('retry-after')).toBeTruthy();
    const status = await api('GET', `/api/enrollments/requests/${accepted[0]}`, { token: admin });
    expect(status.status).toBe(503);

    const openedAfter = Date.now() - refusedAt;
    pg.refuse(false);
    const restoredAt = Date.now();
    await expectAllSettled(accepted, codes, 20);
    console.log(`breakers open ${openedAfter} ms after the cut; queue settled ${Date.now() - restoredAt} ms after recovery`);
    let after: BreakersView | undefined;
    const healthy = await eventually(async () => {
      after = (await api<BreakersView>('GET', '/api/ops/circuit-breakers', { token: admin })).body;
      return after.overall_health === 'healthy';
    }, 10_000);
    expect(healthy, JSON.stringify(after)).toBe(true);
    const up = await submitWhileDown();
    expect(up.status).toBe(202);
  });

  it('dead-letters a poison message after its attempts and fails its request', async () => {
    await startReplicas(2);
    await createSection(api, { code: 'POISON-1', course: 'POISON', capacity: 5, schedule: [] });
    // A row no code path can write: its schedule is not a schedule. Every attempt fails.
    await stack.enrollmentDb`UPDATE sections SET schedule = '"every day, all day"' WHERE code = 'POISON-1'`;
    try {
      const response = await api('POST', '/api/enrollments', {
        token: await token('RA0050', 'student'),
        body: { term: '1-2025', sections: ['G-PRG101-A', 'POISON-1'] },
      });
      expect(response.status).toBe(202);
      const [view] = [...(await waitForTerminal(api, [response.body.request_id], admin, 20_000)).values()];
      expect(view).toMatchObject({ status: 'failed', error: { code: 'PROCESSING_FAILED' } });
      expect(view.error.detail).toContain('3 times');
      const stats = await api('GET', '/api/ops/stats', { token: admin });
      expect(stats.body.queues['enrollment.requests.dead'].messages).toBe(1);
      expect(stats.body.queues['enrollment.requests'].messages).toBe(0);
      expect(await enrollmentInvariantViolations(stack)).toEqual([]);
    } finally {
      await stack.enrollmentDb`UPDATE sections SET schedule = '[]' WHERE code = 'POISON-1'`;
    }
  });

  it('lets an enrollment replica finish what it holds on SIGTERM and exit 0', async () => {
    const [first] = await startReplicas(2);
    const { codes, students } = await scenario('TM', 40, 40);
    let exitCode: number | null = -1;
    const accepted = await burst(students, codes, async () => {
      exitCode = await stopProcess(first!);
    });
    expect(exitCode).toBe(0);
    const { completed } = await expectAllSettled(accepted, codes, 40);
    expect(completed).toBe(accepted.length);
  });
});
