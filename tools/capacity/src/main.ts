import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { daysFromToday } from '@cupo/contracts';
import { REPO_ROOT, defaultUrls, freePort, httpClient, signToken, startStack, type Stack } from '@cupo/stack';
import { report, type CapacityData, type LoadStep } from './report.js';
import { ResourceMonitor } from './resources.js';

/**
 * `make capacity`: measures how Cupo's cost grows with its load on this machine and writes
 * docs/capacity.md, its plots (docs/capacity/*.svg) and the raw figures (data.json).
 *
 * The scenarios are the k6 scripts' (load-tests/), driven by this Node harness because k6 is
 * not installed here: booking at an open-model arrival rate (k6 constant-arrival-rate),
 * closed-loop throughput per booking replica count, the seed's burst at growing sizes, and
 * enrollment bursts. The load generator runs on the same two cores as everything it
 * measures; its CPU is reported with the rest.
 */
const QUICK = process.env.CAPACITY_QUICK === '1';
const RATES = QUICK ? [50, 200, 400] : [50, 100, 200, 300, 400, 500, 600];
const STEP_SECONDS = QUICK ? 4 : 8;
const REPLICAS = [1, 2, 4];
const BURSTS = QUICK ? [10, 50, 200] : [10, 25, 50, 100, 250, 500];
const ENROLL_BURSTS = QUICK ? [100, 300] : [100, 250, 500, 1000];
const ROOMS = 200;

const out = join(REPO_ROOT, 'docs', 'capacity');
mkdirSync(out, { recursive: true });
if (process.argv.includes('--report-only')) {
  // Rewrites docs/capacity.md and the plots from the last measurement (data.json).
  report(JSON.parse(readFileSync(join(out, 'data.json'), 'utf8')) as CapacityData, REPO_ROOT);
  process.exit(0);
}
const day = (n: number) => daysFromToday(n);
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

async function launch(label: string, replicas: { inventory: number; booking: number; enrollment: number }) {
  const stack = await startStack({
    ...defaultUrls(),
    namespace: `cap${label}_${Date.now().toString(36)}`,
    replicas,
    gatewayPort: await freePort(),
    opsPortBase: 0,
    logDir: join(tmpdir(), 'cupo-capacity'),
    env: { LOG_LEVEL: 'warn', PG_POOL_MAX: '10' },
  });
  const admin = await signToken({ sub: 'capacity-admin', role: 'admin' });
  const monitor = new ResourceMonitor(() => groupsOf(stack), postgres(defaultUrls().pgUrl, { max: 1, onnotice: () => undefined }));
  return { stack, admin, monitor };
}

function groupsOf(stack: Stack): Record<string, number[]> {
  const groups: Record<string, number[]> = {};
  for (const proc of stack.processes) {
    if (proc.child.exitCode !== null || !proc.child.pid) continue;
    (groups[proc.name.replace(/-\d+$/, '')] ??= []).push(proc.child.pid);
  }
  return groups;
}

const clients = new Map<string, ReturnType<typeof httpClient>>();
/** One request through the public API; a connection error or timeout reads as status 0. */
async function request(base: string, method: string, path: string, token: string, body?: unknown) {
  let client = clients.get(base);
  if (!client) clients.set(base, (client = httpClient(base, { timeoutMs: 15_000 })));
  const started = performance.now();
  try {
    const reply = await client.request(method, path, token, body);
    return { status: reply.status, ms: reply.ms, body: reply.body as { id?: number; request_id?: string } | undefined };
  } catch {
    return { status: 0, ms: performance.now() - started, body: undefined };
  }
}

async function createRooms(base: string, admin: string, count: number, quantity: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, (_, j) =>
        request(base, 'POST', '/api/admin/rooms', admin, {
          name: `Capacity ${i + j}`,
          type: 'capacity',
          total_quantity: quantity,
          open_days: 60,
        }),
      ),
    );
    for (const r of batch) if (r.status !== 201) throw new Error(`room creation failed: ${r.status} ${JSON.stringify(r.body)}`);
    ids.push(...batch.map((r) => r.body?.id as number));
  }
  return ids;
}

const bookingBody = (rooms: number[], i: number) => {
  const start = 1 + (i % 40);
  return { room_id: rooms[(i * 7919) % rooms.length]!, check_in: day(start), check_out: day(start + 1 + (i % 3)) };
};

/** Sends at `rate` per second for `seconds`, each request on its own schedule (open model). */
async function openModel(base: string, tokens: string[], rooms: number[], rate: number, seconds: number, offset: number) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const total = Math.round(rate * seconds);
  const gap = 1000 / rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = started + i * gap - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      request(base, 'POST', '/api/bookings', tokens[i % tokens.length]!, bookingBody(rooms, offset + i)).then((r) => {
        latencies.push(r.ms);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  return { latencies, statuses, elapsed };
}

async function closedLoop(base: string, tokens: string[], rooms: number[], clients: number, seconds: number) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, worker) => {
      for (let i = 0; performance.now() < until; i++) {
        // Interleaved so that clients never walk the same rooms in step (they would queue on each other's locks).
        const r = await request(base, 'POST', '/api/bookings', tokens[worker]!, bookingBody(rooms, i * clients + worker));
        latencies.push(r.ms);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return { latencies, statuses, elapsed: (performance.now() - started) / 1000 };
}

const summarise = (run: { latencies: number[]; statuses: Record<string, number>; elapsed: number }) => ({
  n: run.latencies.length,
  p50: pct(run.latencies, 50),
  p95: pct(run.latencies, 95),
  p99: pct(run.latencies, 99),
  throughput: run.latencies.length / run.elapsed,
  statuses: run.statuses,
});

const data: CapacityData = {
  measuredAt: new Date().toISOString(),
  machine: { cores: (await import('node:os')).cpus().length, node: process.version },
  quick: QUICK,
  loadSweep: [],
  replicas: [],
  bursts: [],
  enrollment: { bursts: [], byDepth: [] },
};

// --- A and C: booking latency against offered load; burst latency against burst size ----
{
  const { stack, admin, monitor } = await launch('a', { inventory: 2, booking: 2, enrollment: 0 });
  try {
    const base = stack.gatewayUrl;
    const tokens = await Promise.all(Array.from({ length: 500 }, (_, i) => signToken({ sub: `cap-guest-${i}`, role: 'guest' })));
    const rooms = await createRooms(base, admin, ROOMS, 10_000);
    await openModel(base, tokens, rooms, 100, 3, 0); // warm-up, not measured
    let offset = 1_000;
    for (const rate of RATES) {
      monitor.begin();
      const run = await openModel(base, tokens, rooms, rate, STEP_SECONDS, offset);
      const resources = monitor.end();
      offset += rate * STEP_SECONDS;
      const step: LoadStep = { offered: rate, ...summarise(run), resources };
      data.loadSweep.push(step);
      console.log(
        `offered ${rate}/s: achieved ${step.throughput.toFixed(0)}/s p50 ${step.p50.toFixed(0)} p95 ${step.p95.toFixed(0)} p99 ${step.p99.toFixed(0)} ms; machine ${(resources.machine * 100).toFixed(0)}%`,
      );
      if (step.p95 > 5_000 || step.throughput < rate * 0.6) break; // well past the knee
    }
    for (const size of BURSTS) {
      const [room] = await createRooms(base, admin, 1, 1);
      const body = { room_id: room!, check_in: day(3), check_out: day(4) };
      const started = performance.now();
      const results = await Promise.all(tokens.slice(0, size).map((t) => request(base, 'POST', '/api/bookings', t, body)));
      const wall = performance.now() - started;
      const latencies = results.map((r) => r.ms);
      const winners = results.filter((r) => r.status === 201).length;
      data.bursts.push({
        size,
        p50: pct(latencies, 50),
        p95: pct(latencies, 95),
        max: Math.max(...latencies),
        wall,
        winners,
        statuses: Object.fromEntries(
          [...new Set(results.map((r) => r.status))].map((s) => [s, results.filter((r) => r.status === s).length]),
        ),
      });
      console.log(`burst ${size}: p50 ${pct(latencies, 50).toFixed(0)} p95 ${pct(latencies, 95).toFixed(0)} ms, ${winners} winner(s)`);
    }
  } finally {
    await stack.destroy();
  }
}

// --- B: closed-loop throughput with 1, 2 and 4 booking replicas ---------------------------
for (const booking of REPLICAS) {
  const { stack, admin, monitor } = await launch(`b${booking}`, { inventory: 2, booking, enrollment: 0 });
  try {
    const base = stack.gatewayUrl;
    const tokens = await Promise.all(Array.from({ length: 32 }, (_, i) => signToken({ sub: `cap-r-${i}`, role: 'guest' })));
    const rooms = await createRooms(base, admin, ROOMS, 10_000);
    await closedLoop(base, tokens, rooms, 32, 2); // warm-up
    monitor.begin();
    const run = await closedLoop(base, tokens, rooms, 32, STEP_SECONDS);
    const resources = monitor.end();
    data.replicas.push({ replicas: booking, ...summarise(run), resources });
    console.log(
      `${booking} booking replica(s): ${(run.latencies.length / run.elapsed).toFixed(0)}/s p95 ${pct(run.latencies, 95).toFixed(0)} ms; machine ${(resources.machine * 100).toFixed(0)}%`,
    );
  } finally {
    await stack.destroy();
  }
}

// --- D: enrollment accept→terminal latency against queue depth ---------------------------
{
  const { stack, admin, monitor } = await launch('d', { inventory: 0, booking: 0, enrollment: 2 });
  const db = postgres(stack.databaseUrls.enrollment, { max: 2, onnotice: () => undefined });
  try {
    const base = stack.gatewayUrl;
    const most = Math.max(...ENROLL_BURSTS);
    const students = Array.from({ length: most }, (_, i) => `CAP${String(i).padStart(5, '0')}`);
    for (let i = 0; i < students.length; i += 25) {
      await Promise.all(
        students
          .slice(i, i + 25)
          .map((id) => request(base, 'POST', '/api/admin/students', admin, { id, name: id, email: `${id.toLowerCase()}@cap.test` })),
      );
    }
    const tokens = await Promise.all(students.map((sub) => signToken({ sub, role: 'student' })));
    const samples: { depth: number; ms: number }[] = [];
    for (const [b, size] of ENROLL_BURSTS.entries()) {
      const codes = Array.from({ length: 50 }, (_, i) => `CAP${b}-${i}`);
      for (const code of codes) {
        const created = await request(base, 'POST', '/api/admin/sections', admin, {
          code,
          course: code,
          term: '1-2025',
          capacity: 10_000,
          schedule: [],
        });
        if (created.status !== 201) throw new Error(`section creation failed: ${created.status} ${JSON.stringify(created.body)}`);
      }
      // Warm the path once (unmeasured) before the first burst.
      if (b === 0)
        await Promise.all(
          tokens
            .slice(0, 50)
            .map((t, i) => request(base, 'POST', '/api/enrollments', t, { term: '1-2025', sections: [`${codes[i % 50]}`] })),
        );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const ids: string[] = [];
      const accepts: number[] = [];
      monitor.begin();
      let next = b === 0 ? 50 : 0;
      const end = next + size;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < Math.min(end, tokens.length)) {
            const i = next++;
            const r = await request(base, 'POST', '/api/enrollments', tokens[i % tokens.length]!, {
              term: '1-2025',
              sections: [codes[i % 50]!],
            });
            accepts.push(r.ms);
            if (r.status === 202) ids.push(r.body?.request_id as string);
          }
        }),
      );
      for (;;) {
        const [row] = await db<
          { open: number }[]
        >`SELECT count(*)::int AS open FROM enrollment_requests WHERE id IN ${db(ids)} AND finished_at IS NULL`;
        if ((row?.open ?? 0) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const resources = monitor.end();
      const rows = await db<{ accepted: number; finished: number }[]>`
        SELECT extract(epoch FROM accepted_at)::float8 * 1000 AS accepted, extract(epoch FROM finished_at)::float8 * 1000 AS finished
        FROM enrollment_requests WHERE id IN ${db(ids)} ORDER BY accepted_at`;
      // Depth at a request's acceptance: requests accepted before it and not yet finished.
      let maxDepth = 0;
      for (const r of rows) {
        const depth = rows.filter((o) => o.accepted < r.accepted && o.finished > r.accepted).length;
        maxDepth = Math.max(maxDepth, depth);
        samples.push({ depth, ms: r.finished - r.accepted });
      }
      const latencies = rows.map((r) => r.finished - r.accepted);
      data.enrollment.bursts.push({
        size,
        maxDepth,
        acceptP95: pct(accepts, 95),
        p50: pct(latencies, 50),
        p95: pct(latencies, 95),
        max: Math.max(...latencies),
        resources,
      });
      console.log(
        `enrollment burst ${size}: max depth ${maxDepth}, accept→terminal p50 ${pct(latencies, 50).toFixed(0)} p95 ${pct(latencies, 95).toFixed(0)} ms`,
      );
    }
    const edges = [0, 10, 25, 50, 100, 200, 400, 800, Infinity];
    for (let i = 0; i < edges.length - 1; i++) {
      const inBucket = samples.filter((s) => s.depth >= edges[i]! && s.depth < edges[i + 1]!).map((s) => s.ms);
      if (inBucket.length >= 5)
        data.enrollment.byDepth.push({
          from: edges[i]!,
          to: edges[i + 1]!,
          n: inBucket.length,
          p50: pct(inBucket, 50),
          p95: pct(inBucket, 95),
        });
    }
  } finally {
    await db.end({ timeout: 5 });
    await stack.destroy();
  }
}

writeFileSync(join(out, 'data.json'), `${JSON.stringify(data, null, 2)}\n`);
report(data, REPO_ROOT);
console.log('docs/capacity.md and docs/capacity/*.svg written');
process.exit(0);
