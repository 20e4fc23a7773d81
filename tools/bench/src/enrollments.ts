import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { defaultUrls, freePort, httpClient, signToken, startStack } from '@cupo/stack';
import { CpuMeter, cpuLine } from './cpu.js';
import { fmt, pct, summary } from './figures.js';
import { inParallel } from './parallel.js';

/**
 * The enrollment benchmark (issue #3): 500 requests from 500 students over 50 sections,
 * against 2 enrollment replicas and one gateway on this machine, twice: at a fixed arrival
 * rate, then as a closed-loop burst. Each request asks for two sections (a two-seat saga);
 * seats are fewer than asked for, so some sagas compensate.
 *
 * Prints: accept (202) latency as the client sees it; accept→terminal latency and "last
 * terminal − last accept" from the server's own timestamps (accepted_at / finished_at,
 * one clock); outcomes; and the seat invariant checked in the database afterwards.
 */
const STUDENTS = Number(process.env.BENCH_ENROLL_STUDENTS ?? 500);
const SECTIONS = 50;
const CAPACITY = Number(process.env.BENCH_ENROLL_CAPACITY ?? 15);
const CONCURRENCY = Number(process.env.BENCH_ENROLL_CONCURRENCY ?? 50);
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const stack = await startStack({
  ...defaultUrls(),
  namespace: `benchenr_${Date.now().toString(36)}`,
  replicas: { inventory: 0, booking: 0, enrollment: 2 },
  gatewayPort: await freePort(),
  opsPortBase: 0,
  logDir: join(tmpdir(), 'cupo-bench'),
  env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', PG_POOL_MAX: '10' },
});
const client = httpClient(stack.gatewayUrl);
const call = (method: string, path: string, token: string, body?: unknown) => client.request(method, path, token, body);
const db = postgres(stack.databaseUrls.enrollment, { max: 2, onnotice: () => undefined });
const cpu = new CpuMeter(stack, defaultUrls().pgUrl);

async function setup(admin: string, tag: string) {
  // 50 sections, each in its own weekly slot (no two overlap), each its own course.
  const codes = Array.from({ length: SECTIONS }, (_, i) => `${tag}-${String(i).padStart(2, '0')}`);
  await inParallel(codes, 10, async (code, i) => {
    const hour = String(7 + Math.floor(i / DAYS.length)).padStart(2, '0');
    const slot = { day: DAYS[i % DAYS.length], start: `${hour}:00`, end: `${hour}:50` };
    const created = await call('POST', '/api/admin/sections', admin, {
      code,
      course: `${tag}C${i}`,
      term: '1-2025',
      capacity: CAPACITY,
      schedule: [slot],
    });
    if (created.status !== 201) throw new Error(`section ${code}: ${created.status}`);
  });
  const students = Array.from({ length: STUDENTS }, (_, i) => `${tag}S${String(i).padStart(4, '0')}`);
  await inParallel(students, 20, async (id) => {
    const created = await call('POST', '/api/admin/students', admin, { id, name: id, email: `${id}@bench.test` });
    if (created.status !== 201) throw new Error(`student ${id}: ${created.status}`);
  });
  const tokens = await Promise.all(students.map((sub) => signToken({ sub, role: 'student' })));
  // Warm-up: catalog reads through the same path (JIT, keep-alive sockets, pools).
  for (let i = 0; i < 5; i++) await Promise.all(tokens.slice(0, 50).map((t) => call('GET', '/api/terms', t)));
  return { codes, tokens };
}

/**
 * One run of 500 requests. `rate` (requests/s): an open model — each request leaves on its
 * schedule whether or not earlier ones have been answered (k6's constant-arrival-rate),
 * the way 500 students clicking at once arrive. `concurrency`: a closed loop of that many
 * clients each sending its next request as soon as the last is answered — a stress figure.
 */
async function run(label: string, setupDone: { codes: string[]; tokens: string[] }, load: { rate?: number; concurrency?: number }) {
  const { codes, tokens } = setupDone;
  const accepts: number[] = [];
  const statuses = new Map<number, number>();
  const ids: string[] = [];
  const send = async (i: number) => {
    const sections = [codes[i % SECTIONS]!, codes[(i * 7 + 3) % SECTIONS]!];
    if (sections[0] === sections[1]) sections.pop();
    const r = await call('POST', '/api/enrollments', tokens[i]!, { term: '1-2025', sections });
    accepts.push(r.ms);
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.status === 202) ids.push((r.body as { request_id: string }).request_id);
  };
  const measure = await cpu.start();
  const started = performance.now();
  if (load.rate) {
    const gap = 1000 / load.rate;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const due = started + i * gap;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(send(i));
    }
    await Promise.all(inFlight);
  } else {
    await inParallel(tokens, load.concurrency ?? 50, (_token, i) => send(i));
  }
  summary(`${label}: accept (202)`, accepts, (performance.now() - started) / 1000, statuses);

  // Wait for every accepted request to end, reading the database (no polling load on the API).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [row] = await db<{ open: number }[]>`
      SELECT count(*)::int AS open FROM enrollment_requests WHERE id IN ${db(ids)} AND status IN ('queued', 'processing')`;
    const open = row?.open ?? 0;
    if (open === 0 || Date.now() > deadline) {
      if (open > 0) console.log(`  ${open} requests still open after 60 s`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Until every request ended: the CPU of the whole saga, not only of its acceptance.
  const spent = await measure();
  const rows = await db<{ ms: number; status: string; code: string | null }[]>`
    SELECT extract(epoch FROM finished_at - accepted_at)::float8 * 1000 AS ms, status, error_code AS code
    FROM enrollment_requests WHERE id IN ${db(ids)} AND finished_at IS NOT NULL`;
  const [tail] = await db<{ tail_ms: number }[]>`
    SELECT extract(epoch FROM max(finished_at) - max(accepted_at))::float8 * 1000 AS tail_ms
    FROM enrollment_requests WHERE id IN ${db(ids)}`;
  const latencies = rows.map((r) => r.ms).sort((a, b) => a - b);
  const outcomes = new Map<string, number>();
  for (const r of rows) outcomes.set(r.code ?? r.status, (outcomes.get(r.code ?? r.status) ?? 0) + 1);
  console.log(
    `  accept→terminal: n=${latencies.length}  p50 ${fmt(pct(latencies, 50))}  p95 ${fmt(pct(latencies, 95))}  p99 ${fmt(pct(latencies, 99))}  max ${fmt(latencies.at(-1) ?? 0)}`,
  );
  console.log(`  last terminal − last accept: ${fmt(tail?.tail_ms ?? NaN)}   outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
  console.log(cpuLine(spent, tokens.length, 'enrollment request (accept to terminal)'));
}

try {
  const admin = await signToken({ sub: 'bench-admin', role: 'admin' });
  const rate = Number(process.env.BENCH_ENROLL_RATE ?? 100);
  // Unmeasured warm-up through the very path measured: JIT, pools, and each pooled
  // connection's prepared statements (a statement's first use costs an extra round trip).
  const warm = await setup(admin, 'WARM');
  await inParallel(warm.tokens, 20, async (t, i) => {
    await call('POST', '/api/enrollments', t, { term: '1-2025', sections: [warm.codes[i % SECTIONS]!] });
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await run(
    `enrollment, ${STUDENTS} students at ${rate}/s (open model), ${SECTIONS} sections × ${CAPACITY} seats, 2 sections each`,
    await setup(admin, 'RATE'),
    { rate },
  );
  await run(`enrollment, ${STUDENTS} students, ${CONCURRENCY} concurrent clients (closed loop, stress)`, await setup(admin, 'BURST'), {
    concurrency: CONCURRENCY,
  });
  const broken = await db`
    SELECT s.code FROM sections s
    WHERE s.enrolled <> (SELECT count(*) FROM enrollments e WHERE e.section = s.code AND e.status IN ('held', 'active'))
       OR s.enrolled > s.capacity`;
  console.log(`seat invariant after both runs: ${broken.length === 0 ? 'holds' : `VIOLATED in ${broken.map((r) => r.code).join(', ')}`}`);
} finally {
  client.close();
  await db.end({ timeout: 5 });
  await cpu.close();
  await stack.destroy();
}
