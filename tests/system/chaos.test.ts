import type { BookingRequestBody, EnrollmentRequestBody, QueryRequestBody } from '@cupo/contracts';
import { startPrivateServers, tail, type PrivateServers, type ServiceName, type ServiceProcess } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  consumerShortfalls,
  createRoom,
  createSection,
  day,
  enrollmentInvariantViolations,
  eventually,
  invariantViolations,
  nightStates,
  queueConsumers,
  reservationMismatches,
  retryUntilDefinite,
  startTestStack,
  token,
  waitForQueries,
  waitForTerminal,
  type BreakersView,
  type RetriedCall,
  type TestStack,
} from './support.js';

/**
 * Chaos: the whole system (2 replicas of inventory, booking, enrollment and worker) on
 * PostgreSQL, Redis and RabbitMQ of this test's own, under a mixed load of careful clients
 * (bookings with Idempotency-Keys, enrollments, queries; each retried with its key on a
 * 5xx). During the load each server is restarted in turn and a replica of every service is
 * SIGKILLed and replaced. Afterwards, whatever the timing was, the promises must hold:
 * nothing oversold, nothing lost, nothing stuck, no process dead of its own accord.
 *
 * The recovery settings are short so the run settles in seconds; the logic is production's.
 */
const LOAD_MS = 36_000;
/** How long after the load a retried call may go on before it counts as answered never. */
const RETRY_GRACE_MS = 20_000;
/** One budget for every "eventually" after the load: the whole test stays bounded. */
const SETTLE_MS = 60_000;

const FAST: NodeJS.ProcessEnv = {
  // Breakers (enrollment's postgres and publishing, the gateway's redis) reopen to trials quickly.
  DATABASE_CIRCUIT_RECOVERY_TIMEOUT: '2',
  PUBLISH_CIRCUIT_RECOVERY_TIMEOUT: '2',
  REDIS_CIRCUIT_RECOVERY_TIMEOUT: '2',
  // Every replica's breakers must make it into the report on a loaded machine.
  OPS_GATHER_WINDOW_MS: '1000',
  JOB_RETRY_INITIAL_MS: '50',
  JOB_RETRY_MAX_MS: '1000',
};
const SERVICE_ENV = {
  booking: {
    INVENTORY_TIMEOUT_MS: '1500',
    LOCK_WAIT_MS: '1500',
    STALE_PENDING_MS: '4000',
    RECOVERY_INTERVAL_MS: '250',
    RELEASE_GRACE_MS: '300',
  },
  enrollment: { RECOVERY_INTERVAL_MS: '500', STALE_REQUEST_MS: '5000' },
  worker: { SOURCE_TIMEOUT_MS: '2000', MAINTENANCE_INTERVAL_MS: '500', STALE_QUERY_MS: '5000' },
};

let servers: PrivateServers | undefined;
let stack: TestStack | undefined;

beforeAll(async () => {
  servers = await startPrivateServers();
  stack = await startTestStack('chaos', {
    servers: {
      pgUrl: servers.postgres.url,
      redisUrl: servers.redis.url,
      amqpUrl: servers.rabbitmq.url,
      rabbitmqctl: (args) => servers!.rabbitmq.ctl(args),
    },
    replicas: { inventory: 2, booking: 2, enrollment: 2, worker: 2 },
    env: FAST,
    serviceEnv: SERVICE_ENV,
  });
}, 180_000);

afterAll(async () => {
  // Each step on its own: a failed stack clean-up must not leave the servers running.
  await stack?.close().catch((error) => console.error('stack clean-up failed', error));
  await servers?.stop();
}, 120_000);

/** One logical operation of the load, the body it sent and what became of it. */
type Operation = { label: string; call: RetriedCall<Answer> } & (
  | { kind: 'booking'; body: BookingRequestBody }
  | { kind: 'enrollment'; body: EnrollmentRequestBody }
  | { kind: 'query'; body: QueryRequestBody }
);

/** What the answers are read for: a 201's booking id, a 202's request or query id, a refusal's code. */
interface Answer {
  id: string;
  request_id: string;
  query_id: string;
  code?: string;
}

interface Fault {
  name: string;
  /** When the fault began (server stopped, replica killed) and when the server was back. */
  downAt: number;
  upAt: number;
}

/** "503 DEPENDENCY_UNAVAILABLE ×6, 503 BOOKING_ABANDONED ×38": what a client saw, in order. */
function attemptsOf(call: RetriedCall): string {
  const runs: { label: string; times: number }[] = [];
  for (const a of call.attempts) {
    const label = `${a.status}${a.code ? ` ${a.code}` : ''}`;
    if (runs.at(-1)?.label === label) runs.at(-1)!.times += 1;
    else runs.push({ label, times: 1 });
  }
  return runs.map((run) => `${run.label} ×${run.times}`).join(', ');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const isLive = (proc: ServiceProcess) => proc.child.exitCode === null && proc.child.signalCode === null;
const serviceOf = (proc: ServiceProcess) => proc.name.replace(/-\d+$/, '');

describe('a booking whose first attempt failed', () => {
  it('is made by a retry with the same Idempotency-Key, not refused with 503 forever', async () => {
    // The issue's reproduction: every inventory replica frozen, so the first attempt fails
    // after booking wrote it pending; then a careful client retries with its key.
    const s = stack!;
    const api = apiClient(s.gatewayUrl);
    const room = await createRoom(api, { name: 'Retry after 5xx', total_quantity: 1, open_days: 5 });
    const bearer = await token('chaos-retrier');
    const send = () =>
      api('POST', '/api/bookings', {
        token: bearer,
        body: { room_id: room.id, check_in: day(1), check_out: day(3) },
        headers: { 'Idempotency-Key': 'retry-after-5xx' },
      });
    const frozen = s.processes.filter((p) => serviceOf(p) === 'inventory' && isLive(p));
    for (const p of frozen) p.child.kill('SIGSTOP');
    let first;
    try {
      first = await send();
    } finally {
      for (const p of frozen) p.child.kill('SIGCONT');
    }
    expect(first.status, `first attempt: ${first.status} ${JSON.stringify(first.body)}`).toBeGreaterThanOrEqual(500);
    const retried = await retryUntilDefinite(send, Date.now() + 20_000);
    // Nobody else wants this room: once inventory answers again, the booking is made.
    expect(retried.final?.status, `retries: ${attemptsOf(retried)}`).toBe(201);
    expect(await eventually(async () => invariantViolations(await nightStates(s, room.id)).length === 0, 10_000)).toBe(true);
  }, 60_000);
});

describe('chaos: servers restarted and replicas killed under a mixed load', () => {
  it('keeps every promise: no oversell, nothing lost or stuck, every process alive, consumers and breakers back', async () => {
    const s = stack!;
    const api = apiClient(s.gatewayUrl);
    const admin = await token('admin-chaos', 'admin');

    // What the load works on: small rooms (so bookings contend and sell out), sections
    // with few seats, students of this run.
    const rooms = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createRoom(api, { name: `Chaos ${i}`, total_quantity: 3, open_days: 20 })),
    );
    const sectionCodes = Array.from({ length: 8 }, (_, i) => `CH-S${i}`);
    for (const [i, code] of sectionCodes.entries()) {
      const dayOfWeek = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][i % 7]!;
      await createSection(api, {
        code,
        course: `CHAOS${i}`,
        capacity: 6,
        schedule: [
          {
            day: dayOfWeek,
            start: `${8 + Math.floor(i / 7) * 2}:00`.padStart(5, '0'),
            end: `${9 + Math.floor(i / 7) * 2}:00`.padStart(5, '0'),
          },
        ],
      });
    }
    const students = Array.from({ length: 36 }, (_, i) => `CH${String(i).padStart(4, '0')}`);
    for (const id of students) {
      const created = await api('POST', '/api/admin/students', { token: admin, body: { id, name: id, email: `${id}@chaos.test` } });
      expect(created.status).toBe(201);
    }

    const operations: Operation[] = [];
    const faults: Fault[] = [];
    const killed = new Set<ServiceProcess>();
    const loadStart = Date.now();
    let loading = true;
    let loadStoppedAt = Number.POSITIVE_INFINITY;
    // Calls retry for as long as the faults go on (a slow machine stretches them), then for
    // RETRY_GRACE_MS: what has no answer by then is refused forever, not merely slow.
    const retryUntil = () => loadStoppedAt + RETRY_GRACE_MS;

    const bookingClient = async (i: number) => {
      const user = `chaos-guest-${i}`;
      const bearer = await token(user);
      for (let n = 0; loading; n += 1) {
        const from = 1 + Math.floor(Math.random() * 12);
        const body = { room_id: pick(rooms).id, check_in: day(from), check_out: day(from + 1 + Math.floor(Math.random() * 3)) };
        const key = `chaos-${i}-${n}`;
        const call = await retryUntilDefinite(
          () => api<Answer>('POST', '/api/bookings', { token: bearer, body, headers: { 'Idempotency-Key': key } }),
          retryUntil,
        );
        operations.push({ kind: 'booking', label: `${user} key ${key}`, body, call });
        await sleep(20);
      }
    };
    const enrollmentClient = async (i: number, mine: string[]) => {
      for (let n = 0; loading; n += 1) {
        const student = mine[n % mine.length]!;
        const bearer = await token(student, 'student');
        const sections = [...new Set([pick(sectionCodes), pick(sectionCodes)])];
        const body = { term: '1-2025', sections };
        const key = `chaos-enroll-${i}-${n}`;
        const call = await retryUntilDefinite(
          () => api<Answer>('POST', '/api/enrollments', { token: bearer, body, headers: { 'Idempotency-Key': key } }),
          retryUntil,
        );
        operations.push({ kind: 'enrollment', label: `${student} key ${key}`, body, call });
        await sleep(50);
      }
    };
    const queryClient = async () => {
      for (let n = 0; loading; n += 1) {
        const body = pick([
          { type: 'occupancy_report', params: { from: day(1), to: day(8) } },
          { type: 'room_search', params: { from: day(2), to: day(4), min_available: 1 } },
          { type: 'section_roster', params: { section: pick(sectionCodes) } },
        ]);
        const call = await retryUntilDefinite(() => api<Answer>('POST', '/api/queries', { token: admin, body }), retryUntil);
        operations.push({ kind: 'query', label: `query ${n} ${body.type}`, body, call });
        await sleep(100);
      }
    };
    const clients = Promise.all([
      ...Array.from({ length: 6 }, (_, i) => bookingClient(i)),
      ...Array.from({ length: 3 }, (_, i) =>
        enrollmentClient(
          i,
          students.filter((_, j) => j % 3 === i),
        ),
      ),
      queryClient(),
    ]);

    // The faults, one after another, with time between them to recover under load.
    const restart = async (name: string, server: { restart(options?: { downMs?: number }): Promise<void> }, downMs: number) => {
      const downAt = Date.now();
      await server.restart({ downMs });
      faults.push({ name, downAt, upAt: Date.now() });
    };
    const killOneOfEach = async () => {
      const downAt = Date.now();
      const victims = (['inventory', 'booking', 'enrollment', 'worker'] as ServiceName[]).map(
        (service) => s.processes.find((p) => serviceOf(p) === service && isLive(p))!,
      );
      for (const victim of victims) {
        killed.add(victim);
        victim.child.kill('SIGKILL');
      }
      faults.push({ name: 'SIGKILL inventory, booking, enrollment, worker replicas', downAt, upAt: downAt });
      await Promise.all(victims.map((victim) => s.startReplica(serviceOf(victim) as ServiceName)));
    };
    await sleep(4_000);
    await restart('PostgreSQL restart (immediate stop, 1.5 s down)', servers!.postgres, 1_500);
    await sleep(6_000);
    await restart('Redis restart (SIGKILL, 1 s down, back empty)', servers!.redis, 1_000);
    await sleep(6_000);
    await restart('RabbitMQ restart (stop_app, 1 s down, start_app)', servers!.rabbitmq, 1_000);
    await sleep(6_000);
    await killOneOfEach();
    // Load goes on after the last fault too, long enough to see it answered.
    await sleep(Math.max(5_000, loadStart + LOAD_MS - Date.now()));
    loading = false;
    loadStoppedAt = Date.now();
    await clients;
    const loadEnd = Date.now();

    // --- Recovery figures: from each fault's end to the first answer of each kind ---------
    const succeeded = (op: Operation, attempt: RetriedCall['attempts'][number]) =>
      op.kind === 'booking' ? attempt.status === 201 || attempt.status === 409 : attempt.status === 202;
    const figures: string[] = [];
    for (const [f, fault] of faults.entries()) {
      const until = faults[f + 1]?.downAt ?? loadEnd;
      const row = (['booking', 'enrollment', 'query'] as const).map((kind) => {
        let first = Number.POSITIVE_INFINITY;
        for (const op of operations.filter((o) => o.kind === kind)) {
          for (const attempt of op.call.attempts) {
            if (attempt.startedAt >= fault.upAt && succeeded(op, attempt)) first = Math.min(first, attempt.endedAt);
          }
        }
        const failed = operations
          .filter((o) => o.kind === kind)
          .flatMap((o) => o.call.attempts)
          .filter((a) => a.status >= 500 || a.status === 0)
          .filter((a) => a.startedAt >= fault.downAt && a.startedAt < until).length;
        return `${kind} ${Number.isFinite(first) ? `${first - fault.upAt} ms` : 'never'} (${failed} 5xx)`;
      });
      figures.push(`${fault.name}: down ${fault.upAt - fault.downAt} ms; first success after: ${row.join(', ')}`);
    }
    const count = (kind: Operation['kind'], status: number) =>
      operations.filter((o) => o.kind === kind && o.call.final?.status === status).length;
    console.log(
      [
        `chaos load ${loadEnd - loadStart} ms: ${operations.length} operations, ` +
          `bookings ${count('booking', 201)}×201 ${count('booking', 409)}×409, enrollments ${count('enrollment', 202)}×202, queries ${count('query', 202)}×202`,
        ...figures,
      ].join('\n'),
    );

    // --- Processes: none may have died of its own accord ------------------------------------
    const diedAlone = s.processes.filter((p) => !killed.has(p) && !isLive(p));
    expect
      .soft(
        diedAlone.map((p) => `${p.name} exited (code ${p.child.exitCode}, signal ${p.child.signalCode}):\n${tail(p.logFile, 12)}`),
        'processes that died without being killed',
      )
      .toEqual([]);
    // Replace them, so the checks below judge the rest of the system, not the same death again.
    await Promise.all(diedAlone.map((p) => s.startReplica(serviceOf(p) as ServiceName).catch(() => undefined)));

    // --- Retries: a 5xx is never the last word for a careful client -----------------------
    const summarise = (op: Operation) => {
      const first = op.call.attempts[0]!.startedAt;
      const during = faults.filter((f) => f.downAt <= first).at(-1);
      const when = during ? `first sent ${first - during.downAt} ms after the ${during.name} began` : 'first sent before any fault';
      return `${op.kind} ${op.label} (${when}): ${attemptsOf(op.call)}`;
    };
    const neverAnswered = operations.filter((op) => !op.call.final);
    expect.soft(neverAnswered.map(summarise), 'operations retried on 5xx until the deadline without an answer').toEqual([]);
    // A definite answer is what the contract allows for that request, not an artefact.
    const unexpected = operations.filter((op) => {
      const status = op.call.final?.status;
      if (status === undefined) return false;
      if (op.kind === 'booking') return status !== 201 && !(status === 409 && op.call.final!.body?.code === 'ROOM_UNAVAILABLE');
      return status !== 202;
    });
    expect.soft(unexpected.map(summarise), 'final answers the contract does not give to these requests').toEqual([]);

    // --- Bookings: settled, consistent across both databases, every 201 honoured ----------
    const settleDeadline = Date.now() + SETTLE_MS;
    const left = () => Math.max(1_000, settleDeadline - Date.now());
    const unsettled = async () =>
      (await s.bookingDb<{ n: number }[]>`SELECT count(*)::int AS n FROM bookings WHERE status = 'pending' OR release_owed`)[0]!.n;
    expect
      .soft(await eventually(async () => (await unsettled()) === 0, left(), 250), 'bookings still pending or owing a release')
      .toBe(true);
    for (const room of rooms) {
      expect.soft(invariantViolations(await nightStates(s, room.id)), `room ${room.id}: available = total − confirmed`).toEqual([]);
    }
    expect.soft(await reservationMismatches(s), 'reservations without their booking, bookings without their nights').toEqual([]);
    const created = operations.filter((op) => op.kind === 'booking' && op.call.final?.status === 201);
    const createdIds = created.map((op) => op.call.final!.body.id as string);
    const rows = await s.bookingDb<{ id: string; status: string; room_id: number; check_in: string; check_out: string }[]>`
      SELECT id, status, room_id, check_in::text AS check_in, check_out::text AS check_out
      FROM bookings WHERE id = ANY(${createdIds}::uuid[])`;
    const byId = new Map(rows.map((row) => [row.id, row]));
    const dishonoured = created.flatMap((op) => {
      const row = byId.get(op.call.final!.body.id);
      const asked = op.body;
      if (!row) return [`${op.label}: 201 ${op.call.final!.body.id} has no booking`];
      if (row.status !== 'confirmed') return [`${op.label}: 201 ${row.id} is ${row.status}`];
      if (row.room_id !== asked.room_id || row.check_in !== asked.check_in || row.check_out !== asked.check_out)
        return [`${op.label}: 201 ${row.id} is room ${row.room_id} ${row.check_in}..${row.check_out}, asked ${JSON.stringify(asked)}`];
      return [];
    });
    expect.soft(dishonoured, 'every 201 is a confirmed booking of the stay asked for').toEqual([]);

    // --- Enrollments and queries: every 202 reaches its end --------------------------------
    const requestIds = operations
      .filter((op) => op.kind === 'enrollment' && op.call.final?.status === 202)
      .map((op) => op.call.final!.body.request_id as string);
    const ended = await waitForTerminal(api, requestIds, admin, left());
    expect
      .soft(
        requestIds.filter((id) => !ended.has(id)),
        'accepted enrollment requests not completed or failed',
      )
      .toEqual([]);
    expect.soft(await enrollmentInvariantViolations(s), 'enrollment invariants').toEqual([]);
    const queryIds = operations
      .filter((op) => op.kind === 'query' && op.call.final?.status === 202)
      .map((op) => op.call.final!.body.query_id as string);
    const answered = await waitForQueries(api, queryIds, admin, left());
    const stillPending = queryIds.filter((id) => !answered.has(id));
    if (stillPending.length > 0) {
      // Evidence: when the stuck queries were accepted, relative to the faults.
      const rows = await s.workerDb<
        { id: string; created_at: Date }[]
      >`SELECT id, created_at FROM queries WHERE id = ANY(${stillPending}::uuid[])`;
      const unknown = stillPending.filter((id) => !rows.some((row) => row.id === id));
      if (unknown.length > 0) console.log(`queries accepted (202) but unknown to the worker's database: ${unknown.join(', ')}`);
      const phase = (at: number) => {
        const before = faults.filter((f) => f.downAt <= at);
        return before.length === 0 ? 'before any fault' : `after ${before.at(-1)!.name}`;
      };
      const byPhase = new Map<string, number>();
      for (const row of rows) byPhase.set(phase(row.created_at.getTime()), (byPhase.get(phase(row.created_at.getTime())) ?? 0) + 1);
      console.log(`queries still pending, by when they were accepted: ${JSON.stringify(Object.fromEntries(byPhase))}`);
    }
    expect.soft(stillPending, 'accepted queries still pending').toEqual([]);

    // --- Consumers, readiness, breakers: the system is whole again -------------------------
    const live = s.processes.filter(isLive);
    const liveReplicas: Record<string, number> = {};
    for (const p of live) liveReplicas[serviceOf(p)] = (liveReplicas[serviceOf(p)] ?? 0) + 1;
    let shortfalls: string[] = [];
    await eventually(
      async () => {
        shortfalls = consumerShortfalls(await queueConsumers(servers!.rabbitmq, s), liveReplicas);
        return shortfalls.length === 0;
      },
      Math.min(left(), 15_000),
      1_000,
    );
    expect.soft(shortfalls, 'queues short of consumers (rabbitmqctl list_queues on the private node)').toEqual([]);
    const unready: string[] = [];
    for (const p of live.filter((proc) => !proc.name.startsWith('stand-in-'))) {
      const ready = await eventually(
        async () => (await fetch(`http://127.0.0.1:${p.port}/readyz`).catch(() => undefined))?.status === 200,
        Math.min(left(), 10_000),
      );
      if (!ready) unready.push(p.name);
    }
    expect.soft(unready, 'live processes whose /readyz is not 200').toEqual([]);
    // Closed everywhere, and reported by every process of every service (its ops consumer attached) and the gateway.
    const reporting = 1 + ['inventory', 'booking', 'enrollment', 'worker'].reduce((sum, service) => sum + (liveReplicas[service] ?? 0), 0);
    let breakers: BreakersView | undefined;
    let instances = new Set<string>();
    await eventually(
      async () => {
        breakers = (await api<BreakersView>('GET', '/api/ops/circuit-breakers', { token: admin })).body;
        instances = new Set(Object.values(breakers?.circuit_breakers ?? {}).flatMap((b) => b.instances.map((i) => i.instance)));
        return breakers?.overall_health === 'healthy' && instances.size === reporting;
      },
      Math.min(left(), 15_000),
      500,
    );
    expect.soft(breakers?.overall_health, `circuit breakers: ${JSON.stringify(breakers)}`).toBe('healthy');
    expect.soft(instances.size, `breaker reports from ${[...instances].join(', ')}`).toBe(reporting);
    console.log(
      `queues at the end (name, ready, unacked, consumers):\n${await servers!.rabbitmq.ctl(['list_queues', '-p', `cupo-${s.namespace}`, '--silent', 'name', 'messages_ready', 'messages_unacknowledged', 'consumers'])}`,
    );
  }, 240_000);
});
