import { writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { REPO_ROOT, defaultUrls, freePort, httpClient, signToken, startStack, type Stack } from '@cupo/stack';
import { CpuMeter, ownMs } from './cpu.js';
import { pct } from './figures.js';
import { inParallel } from './parallel.js';
import { countsAt, loadHistory } from './history.js';
import { passesBetween, readPasses } from './passes.js';
import { daysFromToday } from '@cupo/contracts';

/**
 * `make bench-scale` (issue 16.1): the same scenarios on two stacks up at once — an empty
 * system and one carrying a production-sized history (history.ts; SCALE=0.1 for a tenth) — each
 * scenario run on the empty stack and straight after on the loaded one, printed side by side:
 * p50/p95 latency and CPU milliseconds per operation summed over every process (the stack's own
 * processes and PostgreSQL backends, from /proc). Each stack has 1 replica of each service and
 * the gateway, its own databases, vhost and key prefix.
 */
const SCALE = Number(process.env.SCALE ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** The idle row: a pause for the set-up's aftermath, then the measured window (long enough for 3 reconciler passes). */
const IDLE_SETTLE_SECONDS = 10;
const IDLE_SECONDS = 30;
const day = (n: number) => daysFromToday(n);

interface Row {
  scenario: string;
  ops: number;
  p50: number;
  p95: number;
  cpuMs: number;
  ownCpuMs: number;
  /** CPU ms per operation by process group (gateway, booking, …, postgres, redis, rabbitmq, load generator). */
  byGroup: Record<string, number>;
  statuses: Record<string, number>;
}

type Passes = ReturnType<typeof passesBetween>;

/** One measured scenario, run when the driver says (the two stacks' steps alternate). */
interface Step {
  name: string;
  run: () => Promise<void>;
}

interface Prepared {
  steps: Step[];
  rows: Row[];
  /** Each background job's passes during the idle step. */
  passes: () => Passes;
  close: () => Promise<void>;
}

/**
 * Sets the stack up through its API (not measured) and returns its scenarios as steps, so the
 * driver can run each scenario on the empty stack and then at once on the loaded one: the two
 * figures of a row are taken a minute apart, not ten, and the machine's drift between them is small.
 */
async function prepare(stack: Stack, tag: string): Promise<Prepared> {
  const client = httpClient(stack.gatewayUrl);
  const cpu = new CpuMeter(stack, defaultUrls().pgUrl);
  const enrollmentDb = postgres(stack.databaseUrls.enrollment, { max: 1, onnotice: () => undefined });
  const rows: Row[] = [];
  const steps: Step[] = [];
  let passes: Passes = {};
  const close = async () => {
    client.close();
    await cpu.close();
    await enrollmentDb.end({ timeout: 5 });
  };
  const admin = await signToken({ sub: `${tag}-admin`, role: 'admin' });
  const guests = await Promise.all(Array.from({ length: 50 }, (_, i) => signToken({ sub: `${tag}-guest-${i}`, role: 'guest' })));
  const call = (method: string, path: string, token?: string, body?: unknown) => client.request(method, path, token, body);

  /** Runs `work`, measuring CPU around it; `work` returns each operation's latency and status. */
  const measureNow = async (scenario: string, work: () => Promise<{ ms: number; status: number | string }[]>) => {
    const done = await cpu.start();
    const results = await work();
    const sample = await done();
    const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
    const statuses: Record<string, number> = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const row: Row = {
      scenario,
      ops: results.length,
      p50: pct(sorted, 50),
      p95: pct(sorted, 95),
      cpuMs: sample.totalMs / Math.max(1, results.length),
      ownCpuMs: ownMs(sample) / Math.max(1, results.length),
      byGroup: Object.fromEntries(
        Object.entries(sample.ms).map(([group, ms]) => [group, Math.round((ms / Math.max(1, results.length)) * 100) / 100]),
      ),
      statuses,
    };
    console.log(
      `  ${tag} ${scenario}: n=${row.ops} p50 ${row.p50.toFixed(1)} ms p95 ${row.p95.toFixed(1)} ms, CPU ${row.cpuMs.toFixed(2)} ms/op (own ${row.ownCpuMs.toFixed(2)}: ${Object.entries(
        row.byGroup,
      )
        .sort((a, b) => b[1] - a[1])
        .map(([g, ms]) => `${g} ${ms}`)
        .join(', ')}) ${JSON.stringify(statuses)}`,
    );
    rows.push(row);
  };
  /** Adds a scenario to the steps; it runs when the driver calls it. */
  const measure = async (scenario: string, work: () => Promise<{ ms: number; status: number | string }[]>) => {
    steps.push({ name: scenario, run: () => measureNow(scenario, work) });
  };

  try {
    // Setup through the API (not measured): rooms, sections, students, fast provider limits.
    const burstRoom = (
      await call('POST', '/api/admin/rooms', admin, { name: `${tag} burst`, type: 'bench', total_quantity: 1, open_days: 30 })
    ).body as { id: number };
    const rooms: number[] = [];
    await inParallel(
      Array.from({ length: 100 }, (_, i) => i),
      8,
      async (i) => {
        const r = await call('POST', '/api/admin/rooms', admin, {
          name: `${tag} ${i}`,
          type: 'bench',
          total_quantity: 1000,
          open_days: 30,
        });
        rooms.push((r.body as { id: number }).id);
      },
    );
    const sections = Array.from({ length: 20 }, (_, i) => `${tag.toUpperCase()}-${String(i).padStart(2, '0')}`);
    const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    await inParallel(sections, 4, async (code, i) => {
      const hour = String(7 + Math.floor(i / DAYS.length)).padStart(2, '0');
      const r = await call('POST', '/api/admin/sections', admin, {
        code,
        course: `${code}C`,
        term: '1-2025',
        capacity: 8,
        schedule: [{ day: DAYS[i % DAYS.length], start: `${hour}:00`, end: `${hour}:50` }],
      });
      if (r.status !== 201) throw new Error(`section ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    });
    const students = Array.from({ length: 200 }, (_, i) => `${tag.toUpperCase()}S${String(i).padStart(4, '0')}`);
    await inParallel(students, 8, async (id) => {
      const r = await call('POST', '/api/admin/students', admin, { id, name: id, email: `${id.toLowerCase()}@bench.test` });
      if (r.status !== 201) throw new Error(`student ${id}: ${r.status}`);
    });
    const studentTokens = await Promise.all(students.map((sub) => signToken({ sub, role: 'student' })));
    await call('PUT', '/api/admin/config', admin, {
      batch_size: 10,
      rate_limit_directory_per_min: 100_000,
      rate_limit_lms_per_min: 100_000,
      rate_limit_email_per_min: 100_000,
    });
    // Warm-up: pools, JIT, prepared statements on each path measured below.
    for (let i = 0; i < 3; i++) {
      await Promise.all(guests.map((t) => call('GET', '/api/rooms', t)));
      await Promise.all(
        guests.slice(0, 10).map((t, j) => call('POST', '/api/bookings', t, { room_id: rooms[j]!, check_in: day(29), check_out: day(30) })),
      );
      await call('GET', '/api/ops/stats', admin);
      await call('GET', '/api/admin/tasks?limit=50', admin);
    }

    // No load at all: what the periodic jobs (recovery, reconciler, sweeps, relays, purges)
    // and scrapes cost by themselves, per second, once the set-up's aftermath (JIT, GC, the
    // first reconciler and purge passes) has settled. History they walk shows here first.
    steps.push({
      name: 'idle',
      run: async () => {
        await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_SECONDS * 1000));
        const before = await readPasses(stack);
        await measureNow(`idle, background jobs only (CPU ms per second, ${IDLE_SECONDS} s)`, async () => {
          await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
          return Array.from({ length: IDLE_SECONDS }, () => ({ ms: 0, status: 'idle' }));
        });
        // Each background job's time per pass with nothing else running, empty against history.
        passes = passesBetween(before, await readPasses(stack));
      },
    });

    await measure('seed burst (5 × 50 guests, 1 unit)', async () => {
      const out: { ms: number; status: number }[] = [];
      for (let b = 0; b < 5; b++) {
        const body = { room_id: burstRoom.id, check_in: day(1 + 2 * b), check_out: day(3 + 2 * b) };
        out.push(...(await Promise.all(guests.map((t) => call('POST', '/api/bookings', t, body)))));
      }
      return out;
    });

    await measure(`steady bookings (16 clients, ${SECONDS} s, 100 rooms)`, async () => {
      const out: { ms: number; status: number }[] = [];
      const until = performance.now() + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let i = 0; performance.now() < until; i++) {
            const start = 1 + ((w + i) % 25);
            out.push(
              await call('POST', '/api/bookings', guests[w]!, {
                room_id: rooms[(w * 7919 + i * 104_729) % rooms.length]!,
                check_in: day(start),
                check_out: day(start + 1 + (i % 3)),
              }),
            );
          }
        }),
      );
      return out;
    });

    await measure('enrollment (200 requests at 40/s, accept→terminal)', async () => {
      const ids: string[] = [];
      const statuses: number[] = [];
      const started = performance.now();
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < students.length; i++) {
        const wait = started + i * 25 - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        inFlight.push(
          call('POST', '/api/enrollments', studentTokens[i], {
            term: '1-2025',
            sections: [...new Set([sections[i % 20]!, sections[(i * 7 + 3) % 20]!])],
          }).then((r) => {
            statuses.push(r.status);
            if (r.status === 202) ids.push((r.body as { request_id: string }).request_id);
          }),
        );
      }
      await Promise.all(inFlight);
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const [row] = await enrollmentDb<
          { open: number }[]
        >`SELECT count(*)::int AS open FROM enrollment_requests WHERE id IN ${enrollmentDb(ids)} AND status IN ('queued', 'processing')`;
        if ((row?.open ?? 0) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const rows = await enrollmentDb<{ ms: number; status: string }[]>`
        SELECT extract(epoch FROM finished_at - accepted_at)::float8 * 1000 AS ms, status FROM enrollment_requests
        WHERE id IN ${enrollmentDb(ids)} AND finished_at IS NOT NULL`;
      return [
        ...rows.map((r) => ({ ms: r.ms, status: r.status })),
        ...statuses.filter((s) => s !== 202).map((s) => ({ ms: 0, status: s })),
      ];
    });

    /** 30 queries, 3 at a time, each from submit to answer; the status carries the answer's size in rooms. */
    const reports = async (body: (i: number) => { type: string; params: Record<string, unknown> }) => {
      const out: { ms: number; status: string }[] = [];
      await inParallel(
        Array.from({ length: 30 }, (_, i) => i),
        3,
        async (i) => {
          const started = performance.now();
          const submitted = await call('POST', '/api/queries', admin, body(i));
          const id = (submitted.body as { query_id?: string }).query_id;
          if (!id) return void out.push({ ms: performance.now() - started, status: String(submitted.status) });
          for (;;) {
            const r = await call('GET', `/api/queries/${id}`, admin);
            const answer = r.body as { status?: string; result?: { rooms?: unknown[] } };
            const status = answer.status ?? String(r.status);
            if (status !== 'pending' || performance.now() - started > 60_000)
              return void out.push({ ms: performance.now() - started, status: `${status}, ${answer.result?.rooms?.length ?? 0} rooms` });
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      );
      return out;
    };
    // Over the whole catalogue: one answer row per room, so the cost follows the number of rooms
    // (the history adds its rooms), not the bookings; the row after it holds the answer fixed.
    await measure('reports over every room (room search and occupancy, 30, 3 at a time)', () =>
      reports((i) =>
        i % 2 === 0
          ? { type: 'room_search', params: { from: day(2), to: day(5), min_available: 1 } }
          : { type: 'occupancy_report', params: { from: day(2), to: day(9) } },
      ),
    );
    // The same answer on both runs: only this run's 100 rooms (1,000 units each) have 21 free; the
    // history's rooms have 20 units. What is left of the difference is reading the catalogue.
    await measure('room search with the same answer (the 100 bench rooms; 30, 3 at a time)', () =>
      reports(() => ({ type: 'room_search', params: { from: day(2), to: day(5), min_available: 21 } })),
    );

    await measure('onboarding batch (30 students, per student)', async () => {
      const list = Array.from({ length: 30 }, (_, i) => ({
        id: `${tag.toUpperCase()}ON${i}`,
        name: `Onboarded ${i}`,
        email: `${tag}on${i}@bench.test`,
      }));
      const started = performance.now();
      const accepted = await call('POST', '/api/admin/onboarding/ingest', admin, { students: list });
      const id = (accepted.body as { task_id?: string }).task_id;
      let status = String(accepted.status);
      // Until the last workflow under it ended (the ingest's progress, one query in the worker).
      while (id && performance.now() - started < 180_000) {
        const r = await call('GET', `/api/admin/onboarding/${id}/progress`, admin);
        const progress = r.body as { phase?: string; finished_at?: string | null; workflows?: { completed: number; failed: number } };
        status = progress.phase ?? String(r.status);
        if (progress.finished_at) {
          status = `${status}: ${progress.workflows?.completed ?? 0} ok, ${progress.workflows?.failed ?? 0} failed`;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const ms = performance.now() - started;
      // One ingest, counted per student so its CPU reads per workflow; latency is the whole batch.
      return list.map(() => ({ ms, status }));
    });

    /** `count` admin GETs, cycling through `paths`, `concurrency` at a time. */
    const gets = async (paths: string[], count: number, concurrency: number) => {
      const out: { ms: number; status: number }[] = [];
      await inParallel(
        Array.from({ length: count }, (_, i) => paths[i % paths.length]!),
        concurrency,
        async (path) => {
          out.push(await call('GET', path, admin));
        },
      );
      return out;
    };

    await measure('admin lists (5 lists × 40, 4 at a time)', () =>
      gets(
        [
          '/api/admin/tasks?limit=50',
          '/api/admin/tasks?type=workflow&status=completed&limit=50',
          '/api/ops/sagas?limit=50',
          '/api/ops/sagas?status=completed&limit=50',
          '/api/bookings?limit=50',
        ],
        200,
        4,
      ),
    );
    await measure('task summary (40, 2 at a time)', () => gets(['/api/admin/tasks/summary'], 40, 2));
    await measure('ops stats (40, 2 at a time)', () => gets(['/api/ops/stats'], 40, 2));
    return { steps, rows, passes: () => passes, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Starts a stack (loading the history when `factor` > 0) and prepares its scenarios. */
async function open(label: string, factor: number): Promise<Prepared> {
  const tag = `${label}${Date.now().toString(36)}`;
  console.log(`${label} run${factor > 0 ? ` (history at scale ${factor})` : ' (empty)'}: starting its stack`);
  const stack = await startStack({
    ...defaultUrls(),
    namespace: `benchscale_${tag}`,
    replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 },
    gatewayPort: await freePort(),
    opsPortBase: 0,
    logDir: join(tmpdir(), 'cupo-bench-scale', label),
    // A university keeps every term's sagas: the automatic cleanup stays off so the history stays.
    env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', PG_POOL_MAX: '10', SAGA_RETENTION_SECONDS: '0' },
  });
  try {
    if (factor > 0) {
      // Loaded with the services stopped, as if they had written it: a running reconciler would
      // otherwise meet bookings whose reservations are not loaded yet, and repair them.
      const services = stack.processes.filter((p) => /^(inventory|booking|enrollment|worker)-/.test(p.name));
      for (const p of services) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
      const started = performance.now();
      await loadHistory(
        { databaseUrls: stack.databaseUrls, redisUrl: defaultUrls().redisUrl, redisKeyPrefix: stack.redisKeyPrefix },
        factor,
        console.log,
      );
      console.log(`  history loaded in ${((performance.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(countsAt(factor))}`);
      for (const p of services) await stack.respawn(p);
    }
    const prepared = await prepare(stack, label);
    return {
      ...prepared,
      close: async () => {
        await prepared.close();
        await stack.destroy();
      },
    };
  } catch (error) {
    await stack.destroy();
    throw error;
  }
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const empty = await open('small', 0);
const loaded = await open('scale', SCALE).catch(async (error: unknown) => {
  await empty.close();
  throw error;
});
try {
  for (const [i, step] of empty.steps.entries()) {
    console.log(`${step.name}:`);
    await step.run();
    await loaded.steps[i]!.run();
  }
} finally {
  await empty.close();
  await loaded.close();
}
const small = empty.rows;
const scale = loaded.rows;
const smallPasses = empty.passes();
const scalePasses = loaded.passes();
const change = (a: number, b: number) => `${b >= a ? '+' : ''}${(((b - a) / Math.max(a, 1e-9)) * 100).toFixed(0)} %`;
const flag = (a: number, b: number) => (b > a * 1.2 ? ' ⚠' : '');
const lines = [
  `| scenario | small p50 | small p95 | small CPU ms/op | scale p50 | scale p95 | scale CPU ms/op | p50 | p95 | CPU |`,
  `|---|---|---|---|---|---|---|---|---|---|`,
  ...small.map((s, i) => {
    const b = scale[i]!;
    return `| ${s.scenario} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.ownCpuMs.toFixed(2)} | ${b.p50.toFixed(1)} | ${b.p95.toFixed(1)} | ${b.ownCpuMs.toFixed(2)} | ${change(s.p50, b.p50)}${flag(s.p50, b.p50)} | ${change(s.p95, b.p95)}${flag(s.p95, b.p95)} | ${change(s.ownCpuMs, b.ownCpuMs)}${flag(s.ownCpuMs, b.ownCpuMs)} |`;
  }),
];
console.log(
  `\nsmall (empty) vs scale ${SCALE} (history: ${JSON.stringify(countsAt(SCALE))}); latency in ms; CPU = the stack's own processes and PostgreSQL backends, per operation; ⚠ = more than 20 % above the small run`,
);
console.log(lines.join('\n'));
const tasks = [...new Set([...Object.keys(smallPasses), ...Object.keys(scalePasses)])].sort();
console.log('\nbackground jobs in the idle window: passes and mean time per pass (periodic_task_duration_seconds)');
console.log(
  [
    '| job | small passes | small ms/pass | scale passes | scale ms/pass | change |',
    '|---|---|---|---|---|---|',
    ...tasks.map((task) => {
      const a = smallPasses[task] ?? { passes: 0, meanMs: 0 };
      const b = scalePasses[task] ?? { passes: 0, meanMs: 0 };
      // A job that made no pass on one side (a long interval) has nothing to compare.
      const delta = a.passes && b.passes ? `${change(a.meanMs, b.meanMs)}${flag(a.meanMs, b.meanMs)}` : '–';
      return `| ${task} | ${a.passes} | ${a.meanMs.toFixed(2)} | ${b.passes} | ${b.meanMs.toFixed(2)} | ${delta} |`;
    }),
  ].join('\n'),
);
const out = join(REPO_ROOT, 'test-results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, `bench-scale-${SCALE}.json`),
  `${JSON.stringify({ scale: SCALE, at: new Date().toISOString(), small, scaleRun: scale, passes: { small: smallPasses, scale: scalePasses } }, null, 2)}\n`,
);
