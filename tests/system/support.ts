import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import {
  daysFromToday,
  type BreakerReport,
  type EnrollmentRequestView,
  type OccupancyRow,
  type QueryView,
  type Room,
  type RoomSearchRow,
  type RosterEntry,
} from '@cupo/contracts';
import { defaultUrls, signToken, startStack, type PrivateRabbitMQ, type Stack, type StackOptions } from '@cupo/stack';

/** A namespace unique to this run and file: databases, vhost and Redis keys hang off it. */
export function runNamespace(label: string): string {
  return `${label}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface TestStack extends Stack {
  namespace: string;
  logDir: string;
  inventoryDb: postgres.Sql;
  bookingDb: postgres.Sql;
  enrollmentDb: postgres.Sql;
  workerDb: postgres.Sql;
  close(): Promise<void>;
}

/** Starts the real processes on a stack of their own; `close()` removes every trace. */
export async function startTestStack(
  label: string,
  options: Partial<Pick<StackOptions, 'replicas' | 'env' | 'serviceEnv' | 'providerEnv'>> & {
    /** Servers of the test's own (see private-servers.ts) instead of the machine's shared ones. */
    servers?: Pick<StackOptions, 'pgUrl' | 'redisUrl' | 'amqpUrl' | 'rabbitmqctl'>;
  } = {},
): Promise<TestStack> {
  const namespace = runNamespace(label);
  // One directory per user: a shared /tmp/cupo-tests made by whoever ran first is not
  // writable by anyone else on the machine.
  const logDir = join(tmpdir(), `cupo-tests-${userInfo().username}`, namespace);
  const { freePort } = await import('@cupo/stack');
  const stack = await startStack({
    ...defaultUrls(),
    ...options.servers,
    namespace,
    replicas: options.replicas ?? { inventory: 2, booking: 2, enrollment: 0 },
    gatewayPort: await freePort(),
    opsPortBase: 0,
    logDir,
    env: { PG_POOL_MAX: '5', LOG_LEVEL: 'info', ...options.env },
    serviceEnv: options.serviceEnv ?? {},
    providerEnv: options.providerEnv ?? {},
  });
  const dateAsString = { to: 1082, from: [1082], serialize: (v: string) => v, parse: (v: string) => v };
  const db = (url: string) => postgres(url, { max: 2, onnotice: () => undefined, types: { date: dateAsString } });
  const inventoryDb = db(stack.databaseUrls.inventory);
  const bookingDb = db(stack.databaseUrls.booking);
  const enrollmentDb = db(stack.databaseUrls.enrollment);
  const workerDb = db(stack.databaseUrls.worker);
  return {
    ...stack,
    namespace,
    logDir,
    inventoryDb,
    bookingDb,
    enrollmentDb,
    workerDb,
    close: async () => {
      await workerDb.end({ timeout: 5 });
      await enrollmentDb.end({ timeout: 5 });
      await inventoryDb.end({ timeout: 5 });
      await bookingDb.end({ timeout: 5 });
      await stack.destroy();
    },
  };
}

/**
 * One answer of the API. The body is JSON parsed as it came, not validated: `T` is what the
 * caller expects to read from it (a contract's response type, or a local shape), `unknown` when
 * it names none.
 */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

/**
 * A query's view with its result as the worker's reports fill it in (the contract leaves it
 * unknown): `rooms` for occupancy_report and room_search, `students` for section_roster.
 */
export type ReportView = Omit<QueryView, 'result'> & { result: { rooms: (OccupancyRow | RoomSearchRow)[]; students: RosterEntry[] } };

/** `GET /api/ops/circuit-breakers`: each breaker name merged across the processes that have it. */
export interface BreakersView {
  circuit_breakers: Record<string, BreakerReport & { instances: ({ service: string; instance: string } & BreakerReport)[] }>;
  overall_health: 'healthy' | 'degraded';
  degraded_services: string[];
}

/** An error answer (application/problem+json), as CONTRACT.md describes it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** A thin client for the public API, as an outside tester would use it. */
export function apiClient(baseUrl: string) {
  return async function api<T = unknown>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const started = performance.now();
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const ms = performance.now() - started;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // leave as text
    }
    return { status: response.status, headers: response.headers, body: parsed as T, ms };
  };
}

export const token = (sub: string, role: 'guest' | 'student' | 'admin' = 'guest') => signToken({ sub, role });

/** `YYYY-MM-DD`, `days` from today (UTC). */
export function day(days: number): string {
  return daysFromToday(days);
}

export async function createRoom(
  api: ReturnType<typeof apiClient>,
  room: { name: string; type?: string; total_quantity: number; open_days?: number },
): Promise<{ id: number }> {
  const admin = await token('admin-tests', 'admin');
  const response = await api<Room>('POST', '/api/admin/rooms', {
    token: admin,
    body: { type: 'test', open_days: 30, ...room },
  });
  if (response.status !== 201) throw new Error(`room creation failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export interface NightState {
  night: string;
  total: number;
  available: number;
  confirmed: number;
}

/**
 * The invariant, read from both databases: per night, confirmed bookings never exceed the
 * total, and available = total − confirmed.
 */
export async function nightStates(stack: TestStack, roomId: number): Promise<NightState[]> {
  const nights = await stack.inventoryDb<{ night: string; total: number; available: number }[]>`
    SELECT night, total, available FROM room_nights WHERE room_id = ${roomId} ORDER BY night`;
  const confirmed = await stack.bookingDb<{ night: string; count: number }[]>`
    SELECT d::date::text AS night, count(*)::int AS count
    FROM bookings b, generate_series(b.check_in, b.check_out - 1, interval '1 day') AS d
    WHERE b.room_id = ${roomId} AND b.status = 'confirmed'
    GROUP BY 1`;
  const byNight = new Map(confirmed.map((row) => [row.night, row.count]));
  return nights.map((n) => ({ ...n, confirmed: byNight.get(n.night) ?? 0 }));
}

export function invariantViolations(states: NightState[]): string[] {
  return states
    .filter((s) => s.confirmed > s.total || s.available !== s.total - s.confirmed)
    .map((s) => `${s.night}: total ${s.total}, available ${s.available}, confirmed ${s.confirmed}`);
}

/**
 * Reserved nights in inventory and confirmed bookings must be the same set: every reserved
 * night has its booking and every booking its nights.
 */
export async function reservationMismatches(stack: TestStack): Promise<string[]> {
  const reserved = await stack.inventoryDb<{ booking_id: string; attempt: number; room_id: number; nights: string[] }[]>`
    SELECT COALESCE(booking, booking_id) AS booking_id, attempt, room_id, nights::text[] AS nights
    FROM reservations WHERE status = 'reserved'`;
  const confirmed = await stack.bookingDb<{ id: string; attempt: number; room_id: number; check_in: string; nights: number }[]>`
    SELECT id, attempt, room_id, check_in, nights FROM bookings WHERE status = 'confirmed'`;
  const problems: string[] = [];
  // Inventory keys what it holds by booking attempt: a retried booking holds under its latest.
  const keyOf = (id: string, attempt: number) => `${id}/${attempt}`;
  const reservedByKey = new Map(reserved.map((r) => [keyOf(r.booking_id, r.attempt), r]));
  for (const booking of confirmed) {
    const key = keyOf(booking.id, booking.attempt);
    const reservation = reservedByKey.get(key);
    if (!reservation) problems.push(`confirmed booking ${key} holds no nights`);
    else if (reservation.nights.length !== booking.nights || reservation.nights[0] !== booking.check_in)
      problems.push(`booking ${key} nights differ from its reservation`);
    reservedByKey.delete(key);
  }
  for (const orphan of reservedByKey.keys()) problems.push(`reserved nights of ${orphan} have no confirmed booking`);
  return problems;
}

/** Polls until `check` returns true or the time runs out. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return check();
}

/** The first batch an onboarding ingest created, once it exists (at most 20 s). */
export async function firstBatchOf(api: ReturnType<typeof apiClient>, admin: string, ingestId: string): Promise<string | undefined> {
  let batchId: string | undefined;
  await eventually(
    async () => {
      const batches = (await api<{ id: string }[]>('GET', `/api/admin/tasks?type=batch&parent_id=${ingestId}`, { token: admin })).body;
      batchId = batches[0]?.id;
      return batchId !== undefined;
    },
    20_000,
    50,
  );
  return batchId;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

// --- Enrollment ------------------------------------------------------------------------

/**
 * The enrollment invariants, read from the database: per section, seats taken
 * (`enrolled`) equal the held and active enrollments and never exceed capacity; no seat is
 * left held by a finished request; no student holds overlapping sections.
 */
export async function enrollmentInvariantViolations(stack: TestStack): Promise<string[]> {
  const db = stack.enrollmentDb;
  const problems: string[] = [];
  const sections = await db<{ code: string; capacity: number; enrolled: number; taken: number }[]>`
    SELECT s.code, s.capacity, s.enrolled,
           (SELECT count(*)::int FROM enrollments e WHERE e.section = s.code AND e.status IN ('held', 'active')) AS taken
    FROM sections s`;
  for (const s of sections) {
    if (s.enrolled !== s.taken) problems.push(`${s.code}: enrolled ${s.enrolled} but ${s.taken} seats taken`);
    if (s.taken > s.capacity) problems.push(`${s.code}: ${s.taken} seats over capacity ${s.capacity}`);
  }
  const stranded = await db<{ id: string }[]>`
    SELECT e.id FROM enrollments e JOIN enrollment_requests r ON r.id = e.request_id
    WHERE e.status = 'held' AND r.status IN ('completed', 'failed')`;
  for (const e of stranded) problems.push(`enrollment ${e.id} still held by a finished request`);
  const overlaps = await db<{ student_id: string; a: string; b: string }[]>`
    SELECT e1.student_id, e1.section AS a, e2.section AS b
    FROM enrollments e1
    JOIN enrollments e2 ON e2.student_id = e1.student_id AND e2.term = e1.term AND e1.section < e2.section
    JOIN sections s1 ON s1.code = e1.section
    JOIN sections s2 ON s2.code = e2.section
    WHERE e1.status = 'active' AND e2.status = 'active'
      AND EXISTS (
        SELECT 1 FROM jsonb_array_elements(s1.schedule) m1, jsonb_array_elements(s2.schedule) m2
        WHERE m1->>'day' = m2->>'day' AND m1->>'start' < m2->>'end' AND m2->>'start' < m1->>'end')`;
  for (const o of overlaps) problems.push(`${o.student_id} holds overlapping ${o.a} and ${o.b}`);
  return problems;
}

/** Polls each request until it is completed or failed; returns the final views by id. */
export async function waitForTerminal(
  api: ReturnType<typeof apiClient>,
  requestIds: string[],
  adminToken: string,
  timeoutMs = 30_000,
): Promise<Map<string, EnrollmentRequestView>> {
  const done = new Map<string, EnrollmentRequestView>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < requestIds.length && Date.now() < deadline) {
    const pending = requestIds.filter((id) => !done.has(id));
    const views = await Promise.all(
      pending.map((id) => api<EnrollmentRequestView>('GET', `/api/enrollments/requests/${id}`, { token: adminToken })),
    );
    views.forEach((view, i) => {
      if (view.status === 200 && (view.body.status === 'completed' || view.body.status === 'failed')) {
        done.set(pending[i]!, view.body);
      }
    });
    if (done.size < requestIds.length) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return done;
}

export async function createSection(
  api: ReturnType<typeof apiClient>,
  section: { code: string; course: string; capacity: number; schedule: { day: string; start: string; end: string }[]; term?: string },
): Promise<void> {
  const admin = await token('admin-tests', 'admin');
  const response = await api('POST', '/api/admin/sections', { token: admin, body: { term: '1-2025', ...section } });
  if (response.status !== 201) throw new Error(`section creation failed: ${response.status} ${JSON.stringify(response.body)}`);
}

/** An RPC reply as it comes off the bus: the result is the command's reply, read as the caller expects. */
export type RpcReply<R = unknown> = { ok: true; result: R } | { ok: false; error: { code: string; detail: string } };

/**
 * Sends one RPC command straight onto the bus, as another service (or a redelivery) would:
 * for tests that must send the very same command twice, which the gateway never does.
 */
export async function rpcCall(stack: Pick<TestStack, 'amqpUrl'>, command: string, payload: unknown, timeoutMs = 10_000): Promise<RpcReply> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(stack.amqpUrl);
  try {
    const channel = await connection.createChannel();
    const correlationId = randomBytes(8).toString('hex');
    const reply = new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${command} within ${timeoutMs} ms`)), timeoutMs);
      void channel.consume(
        'amq.rabbitmq.reply-to',
        (message) => {
          if (message?.properties.correlationId !== correlationId) return;
          clearTimeout(timer);
          resolve(JSON.parse(message.content.toString('utf8')) as RpcReply);
        },
        { noAck: true },
      );
    });
    channel.publish('cupo.rpc', command, Buffer.from(JSON.stringify(payload)), {
      correlationId,
      replyTo: 'amq.rabbitmq.reply-to',
      contentType: 'application/json',
      headers: { 'x-request-id': `test-${correlationId}`, 'x-deadline': Date.now() + timeoutMs },
    });
    return await reply;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

// --- Chaos ------------------------------------------------------------------------------

/** Consumers per queue of a stack's vhost, as the broker counts them (`rabbitmqctl list_queues`). */
export async function queueConsumers(rabbitmq: PrivateRabbitMQ, stack: TestStack): Promise<Map<string, number>> {
  const out = await rabbitmq.ctl(['list_queues', '-p', `cupo-${stack.namespace}`, '--silent', 'name', 'consumers']);
  const consumers = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [name, count] = line.trim().split(/\s+/);
    if (name && count !== undefined && /^\d+$/.test(count)) consumers.set(name, Number(count));
  }
  return consumers;
}

/**
 * Every durable command and job queue (not the `.retry`/`.dead` parking queues, not the
 * per-replica exclusive ones) must have one consumer per live replica of its owner, named
 * by the queue's prefix. Returns what differs.
 */
export function consumerShortfalls(consumers: Map<string, number>, liveReplicas: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [queue, count] of consumers) {
    if (queue.startsWith('amq.') || queue.endsWith('.retry') || queue.endsWith('.dead')) continue;
    const owner = queue.split('.')[0]!;
    const expected = liveReplicas[owner];
    if (expected === undefined) continue;
    if (count !== expected) problems.push(`${queue}: ${count} consumers for ${expected} live ${owner} replicas`);
  }
  return problems;
}

/** Polls each query until it is no longer pending; returns the final views by id. */
export async function waitForQueries(
  api: ReturnType<typeof apiClient>,
  queryIds: string[],
  adminToken: string,
  timeoutMs = 30_000,
): Promise<Map<string, ReportView>> {
  const done = new Map<string, ReportView>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < queryIds.length && Date.now() < deadline) {
    const pending = queryIds.filter((id) => !done.has(id)).slice(0, 50);
    const views = await Promise.all(
      pending.map((id) => api<ReportView>('GET', `/api/queries/${id}`, { token: adminToken }).catch(() => undefined)),
    );
    views.forEach((view, i) => {
      if (view?.status === 200 && view.body.status !== 'pending') done.set(pending[i]!, view.body);
    });
    if (done.size < queryIds.length) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return done;
}

/** One HTTP attempt of a logical operation, as the client saw it. */
export interface Attempt {
  status: number;
  /** The problem's code, if any; 'NETWORK' when no answer came at all. */
  code?: string;
  startedAt: number;
  endedAt: number;
}

export interface RetriedCall<T = unknown> {
  final: ApiResponse<T> | undefined;
  attempts: Attempt[];
}

/**
 * A careful client: sends, and while the answer is a 5xx, none came, or it is `409
 * IDEMPOTENCY_IN_PROGRESS` (the key's first attempt is still running: "retry after 1 s"),
 * sends again, the same request with the same Idempotency-Key, after a short backoff, until
 * a definite answer or `deadline` (a time, or a function read before each retry, for
 * deadlines that depend on when an outage ends). `final` is undefined if none came.
 */
export async function retryUntilDefinite<T = unknown>(
  send: () => Promise<ApiResponse<T>>,
  deadline: number | (() => number),
): Promise<RetriedCall<T>> {
  const deadlineNow = typeof deadline === 'number' ? () => deadline : deadline;
  const attempts: Attempt[] = [];
  let backoff = 100;
  for (;;) {
    const startedAt = Date.now();
    let response: ApiResponse<T> | undefined;
    try {
      response = await send();
    } catch {
      response = undefined;
    }
    const status = response?.status ?? 0;
    attempts.push({
      status,
      code: response ? (response.body as { code?: string } | undefined)?.code : 'NETWORK',
      startedAt,
      endedAt: Date.now(),
    });
    const inProgress = status === 409 && (response?.body as { code?: string } | undefined)?.code === 'IDEMPOTENCY_IN_PROGRESS';
    if (response && status < 500 && !inProgress) return { final: response, attempts };
    if (Date.now() + backoff > deadlineNow()) return { final: undefined, attempts };
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(1_000, backoff * 2);
  }
}
