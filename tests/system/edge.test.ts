import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  defaultUrls,
  freePort,
  REPO_ROOT,
  signToken,
  startProcess,
  stopProcess,
  TcpProxy,
  waitReady,
  type ServiceProcess,
} from '@cupo/stack';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createRoom,
  day,
  invariantViolations,
  nightStates,
  startTestStack,
  token,
  type ApiResponse,
  type TestStack,
} from './support.js';

/**
 * The public edge: what a stranger can send. Hostile input gets a 4xx problem and changes
 * nothing; tokens need exp and a bounded life; budgets are shared by the gateway replicas
 * and survive Redis going away.
 */
let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;
const extraProcesses: ServiceProcess[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  stack = await startTestStack('edge', { replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 } });
  api = apiClient(stack.gatewayUrl);
  admin = await token('edge-admin', 'admin');
});

afterAll(async () => {
  await Promise.all(extraProcesses.map((proc) => stopProcess(proc)));
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await stack?.close();
});

function expectProblem(response: ApiResponse, status: number, code: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
}

/** What hostile requests could have changed, read from the databases. */
async function footprint() {
  const [rooms] = await stack.inventoryDb<{ n: number }[]>`SELECT count(*)::int AS n FROM rooms`;
  const [bookings] = await stack.bookingDb<{ n: number }[]>`SELECT count(*)::int AS n FROM bookings`;
  const [students] = await stack.enrollmentDb<{ n: number }[]>`SELECT count(*)::int AS n FROM students`;
  return { rooms: rooms!.n, bookings: bookings!.n, students: students!.n };
}

describe('hostile input gets a 4xx problem and changes nothing', () => {
  it('answers a malformed percent-escape in a path with 400 VALIDATION_FAILED, on every kind of route', async () => {
    const guest = await token('edge-guest', 'guest');
    for (const path of [
      '/api/sections/%FF',
      '/api/rooms/%E0%A4%A',
      '/api/bookings/%ZZ',
      '/api/ops/idempotency/%',
      '/api/students/%C0%AF/enrollments',
    ]) {
      expectProblem(await api('GET', path, { token: path.startsWith('/api/ops') ? admin : guest }), 400, 'VALIDATION_FAILED');
    }
    expectProblem(await api('DELETE', '/api/ops/idempotency/%FF', { token: admin }), 400, 'VALIDATION_FAILED');
  });

  it('refuses NUL and other control characters in bodies, paths and query strings before they reach a queue or SQL', async () => {
    const before = await footprint();
    const student = await token('RA0001', 'student');
    const answers = await Promise.all([
      api('POST', '/api/admin/rooms', { token: admin, body: { name: 'a\u0000b', type: 'double', total_quantity: 1, open_days: 1 } }),
      api('POST', '/api/admin/rooms', { token: admin, body: { name: 'Suite', type: 'dou\u0007ble', total_quantity: 1, open_days: 1 } }),
      api('POST', '/api/admin/students', { token: admin, body: { id: 'RA9901', name: 'Ada\u0000', email: 'ada@example.com' } }),
      api('GET', '/api/sections/a%00b'),
      api('GET', '/api/sections?term=1-2025%00'),
      api('GET', '/api/bookings?user_id=a%00b', { token: admin }),
      api('GET', '/api/students/a%00b/enrollments', { token: admin }),
      api('DELETE', '/api/ops/idempotency/%00', { token: admin }),
      api('POST', '/api/enrollments', {
        token: student,
        body: { term: '1-2025', sections: ['G-MAT101-A'] },
        headers: { 'idempotency-key': 'a\tb' },
      }),
      api('POST', '/api/queries', { token: student, body: { type: 'section_roster', params: { section: 'G\u0000' } } }),
    ]);
    for (const answer of answers) expectProblem(answer, 400, 'VALIDATION_FAILED');
    expect(await footprint()).toEqual(before);
  });

  it('answers a control character in a header (which Node refuses before express sees it) with a problem too', async () => {
    const raw = (port: number, request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(request));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
    const booking = stack.processes.find((p) => p.name.startsWith('booking'))!;
    const gatewayPort = Number(new URL(stack.gatewayUrl).port);
    for (const [port, path] of [
      [gatewayPort, '/api/bookings'],
      [booking.port, '/healthz'],
    ] as const) {
      const answer = await raw(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\nContent-Length: 2\r\n\r\n{}`);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(answer).toContain('"code":"VALIDATION_FAILED"');
    }
  });

  it('keeps the 4xx the body parser gave a bad Content-Encoding, a truncated gzip body or an unknown encoding', async () => {
    const before = await footprint();
    const guest = await token('edge-encoder', 'guest');
    const body = JSON.stringify({ room_id: 1, check_in: day(1), check_out: day(2) });
    const send = (encoding: string, raw: Buffer | string) =>
      fetch(`${stack.gatewayUrl}/api/bookings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${guest}`, 'content-type': 'application/json', 'content-encoding': encoding },
        body: raw,
      });
    const gzipped = gzipSync(body);
    for (const [encoding, raw, status, code] of [
      ['br', body, 400, 'VALIDATION_FAILED'],
      ['gzip', gzipped.subarray(0, gzipped.length - 10), 400, 'VALIDATION_FAILED'],
      ['gzip', 'not gzip at all', 400, 'VALIDATION_FAILED'],
      ['compress', body, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ] as const) {
      const response = await send(encoding, raw);
      expect(response.status, encoding).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ status, code });
    }
    expect(await footprint()).toEqual(before);
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE, and lets an admin ingest a long student list', async () => {
    const guest = await token('edge-big', 'guest');
    const big = { room_id: 1, check_in: day(1), check_out: day(2), padding: 'x'.repeat(20_000) };
    expectProblem(await api('POST', '/api/bookings', { token: guest, body: big }), 413, 'PAYLOAD_TOO_LARGE');
    // 300 students (~25 KB): over the general limit, within the ingest's. One bad e-mail makes
    // it a 400 that starts nothing — which shows the body was read and validated, not refused for its size.
    const students = Array.from({ length: 300 }, (_, i) => ({
      id: `EDGE${i}`,
      name: `Student number ${i}`,
      email: `edge.${i}@example.com`,
    }));
    students[299]!.email = `${'a'.repeat(65)}@example.com`;
    const ingest = await api('POST', '/api/admin/onboarding/ingest', { token: admin, body: { students } });
    expectProblem(ingest, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(ingest.body.errors)).toContain('students.299.email');
  });

  it('refuses an e-mail local part over 64 characters and an address over 254', async () => {
    const before = await footprint();
    for (const email of [
      `${'a'.repeat(300)}@example.com`,
      `${'a'.repeat(65)}@example.com`,
      `a@${Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')}.com`,
    ]) {
      expectProblem(
        await api('POST', '/api/admin/students', { token: admin, body: { id: 'RA9902', name: 'Long Mail', email } }),
        400,
        'VALIDATION_FAILED',
      );
    }
    expect(await footprint()).toEqual(before);
  });
});

describe('answers', () => {
  it('answers cancelled to every one of six parallel cancels, and gives the nights back once', async () => {
    const room = await createRoom(api, { name: 'edge cancel room', total_quantity: 1 });
    const guest = await token('edge-canceller', 'guest');
    const booked = await api('POST', '/api/bookings', { token: guest, body: { room_id: room.id, check_in: day(2), check_out: day(4) } });
    expect(booked.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => api('POST', `/api/bookings/${booked.body.id}/cancel`, { token: guest })),
    );
    expect(answers.map((a) => [a.status, a.body.status])).toEqual(Array(6).fill([200, 'cancelled']));
    const states = await nightStates(stack, room.id);
    expect(invariantViolations(states)).toEqual([]);
    expect(states.filter((s) => s.night >= day(2) && s.night < day(4)).map((s) => s.available)).toEqual([1, 1]);
  });

  it('echoes X-Request-Id, or makes one, on /healthz, /readyz, /metrics and any other answer of the gateway and of each ops server', async () => {
    const booking = stack.processes.find((p) => p.name.startsWith('booking'))!;
    const gateway = stack.processes.find((p) => p.name.startsWith('gateway'))!;
    for (const base of [stack.gatewayUrl, `http://127.0.0.1:${gateway.port}`, `http://127.0.0.1:${booking.port}`]) {
      for (const path of ['/healthz', '/readyz', '/metrics', '/no-such-path']) {
        const echoed = await fetch(`${base}${path}`, { headers: { 'x-request-id': 'probe-0042' } });
        expect(echoed.headers.get('x-request-id'), `${base}${path}`).toBe('probe-0042');
        const generated = await fetch(`${base}${path}`);
        expect(generated.headers.get('x-request-id'), `${base}${path}`).toMatch(/^[0-9a-f-]{36}$/);
      }
    }
  });

  it('refuses a token without exp and one that would live longer than the cap', async () => {
    const key = new TextEncoder().encode(process.env.JWT_SECRET ?? 'dev-secret-change-me');
    const forever = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('edge-admin')
      .setIssuedAt()
      .sign(key);
    expectProblem(await api('GET', '/api/ops/stats', { token: forever }), 401, 'UNAUTHORIZED');
    const decade = await signToken({ sub: 'edge-admin', role: 'admin', lifetimeSeconds: 10 * 365 * 86_400, env: {} });
    expectProblem(await api('GET', '/api/ops/stats', { token: decade }), 401, 'UNAUTHORIZED');
  });
});

/** A further gateway on this stack's broker and Redis, with its own settings. */
async function startGateway(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<ReturnType<typeof apiClient> & { baseUrl: string; opsUrl: string }> {
  const port = await freePort();
  // Its probes and metrics are on an ops port of their own; `port` is the public API.
  const opsPort = await freePort();
  const proc = startProcess({
    name,
    entry: join(REPO_ROOT, 'services', 'gateway', 'dist', 'main.js'),
    port: opsPort,
    httpPort: port,
    logDir: stack.logDir,
    env: {
      ...process.env,
      AMQP_URL: stack.amqpUrl,
      REDIS_URL: defaultUrls().redisUrl,
      REDIS_KEY_PREFIX: stack.redisKeyPrefix,
      PORT: String(port),
      OPS_PORT: String(opsPort),
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  extraProcesses.push(proc);
  await waitReady(proc);
  return Object.assign(apiClient(`http://127.0.0.1:${port}`), {
    baseUrl: `http://127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
  });
}

function expectRateLimited(response: ApiResponse, policy: string, quota: number): void {
  expectProblem(response, 429, 'RATE_LIMITED');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.get('ratelimit-policy')).toContain(`"${policy}";q=${quota};w=60`);
  expect(response.headers.get('ratelimit')).toMatch(new RegExp(`"${policy}";r=0;t=\\d+`));
}

describe('rate limits', () => {
  const low = {
    RATE_LIMIT_CLIENT_READS: '5',
    RATE_LIMIT_CLIENT_WRITES: '1000',
    RATE_LIMIT_USER_READS: '1000',
    RATE_LIMIT_USER_WRITES: '3',
  };

  it('share one budget per user across gateway replicas, writes apart from reads, and answer 429 with Retry-After and RateLimit fields', async () => {
    // Own key prefix: the stack's gateway (with raised budgets) counts the same addresses.
    const shared = { ...low, TRUST_PROXY: 'loopback', REDIS_KEY_PREFIX: `${stack.redisKeyPrefix}replicas:` };
    const [a, b] = [await startGateway('gateway-limit-a', shared), await startGateway('gateway-limit-b', shared)];
    const guest = await token('edge-hammer', 'guest');
    const write = (gw: typeof a) => gw('POST', '/api/bookings', { token: guest, body: {}, headers: { 'x-forwarded-for': '198.51.100.1' } });
    const writes = [await write(a), await write(b), await write(a)];
    expect(writes.map((w) => w.status)).toEqual([400, 400, 400]);
    expect(writes[2]!.headers.get('ratelimit')).toContain('"user-write";r=0;');
    expectRateLimited(await write(b), 'user-write', 3);
    expectRateLimited(await write(a), 'user-write', 3);
    // Reads are a budget of their own, and another user's writes are untouched.
    expect((await a('GET', '/api/bookings', { token: guest, headers: { 'x-forwarded-for': '198.51.100.2' } })).status).toBe(200);
    const other = await token('edge-bystander', 'guest');
    expect((await b('POST', '/api/bookings', { token: other, body: {}, headers: { 'x-forwarded-for': '198.51.100.3' } })).status).toBe(400);

    // Per client address, from X-Forwarded-For because the peer (loopback) is a trusted proxy.
    const from = (ip: string, gw: typeof a) => gw('GET', '/api/rooms', { headers: { 'x-forwarded-for': ip } });
    const reads = [];
    for (let i = 0; i < 5; i++) reads.push(await from('203.0.113.7', i % 2 ? a : b));
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(reads[0]!.headers.get('ratelimit-policy')).toBe('"client-read";q=5;w=60');
    expectRateLimited(await from('203.0.113.7', a), 'client-read', 5);
    expect((await from('203.0.113.8', b)).status).toBe(200);
  });

  it('does not believe X-Forwarded-For from an untrusted peer, and keeps limiting from memory when Redis is gone', async () => {
    const redis = new URL(defaultUrls().redisUrl);
    const proxy = await new TcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) }).start();
    proxies.push(proxy);
    const c = await startGateway('gateway-limit-c', {
      ...low,
      REDIS_URL: proxy.rewrite(defaultUrls().redisUrl),
      REDIS_KEY_PREFIX: `${stack.redisKeyPrefix}lonely:`,
    });
    // No TRUST_PROXY: every request is the peer's, whatever address it claims.
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await c('GET', '/api/rooms', { headers: { 'x-forwarded-for': `192.0.2.${i}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);

    proxy.refuse(true);
    proxy.cutAll();
    // Fail open, to a limit this replica counts itself: served while Redis is gone, and still bounded.
    const withoutRedis = [];
    for (let i = 0; i < 6; i++) withoutRedis.push(await c('GET', '/api/rooms'));
    expect(withoutRedis.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expectRateLimited(withoutRedis[5]!, 'client-read', 5);
    const metrics = await (await fetch(`${c.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/rate_limit_refusals_total\{[^}]*policy="client-read"[^}]*\} 2/);
    expect(metrics).toMatch(/rate_limit_memory_fallbacks_total(\{[^}]*\})? [1-9]/);
    proxy.refuse(false);
  });
});
