import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { defaultUrls, signToken, startStack, type Stack, type StackOptions } from '@cupo/stack';

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
  options: Partial<Pick<StackOptions, 'replicas' | 'env' | 'serviceEnv' | 'providerEnv'>> = {},
): Promise<TestStack> {
  const namespace = runNamespace(label);
  // One directory per user: a shared /tmp/cupo-tests made by whoever ran first is not
  // writable by anyone else on the machine.
  const logDir = join(tmpdir(), `cupo-tests-${userInfo().username}`, namespace);
  const { freePort } = await import('@cupo/stack');
  const stack = await startStack({
    ...defaultUrls(),
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

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

/** A thin client for the public API, as an outside tester would use it. */
export function apiClient(baseUrl: string) {
  return async function api<T = any>(
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
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export async function createRoom(
  api: ReturnType<typeof apiClient>,
  room: { name: string; type?: string; total_quantity: number; open_days?: number },
): Promise<{ id: number }> {
  const admin = await token('admin-tests', 'admin');
  const response = await api('POST', '/api/admin/rooms', {
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
  const reserved = await stack.inventoryDb<{ booking_id: string; room_id: number; nights: string[] }[]>`
    SELECT booking_id, room_id, nights::text[] AS nights FROM reservations WHERE status = 'reserved'`;
  const confirmed = await stack.bookingDb<{ id: string; room_id: number; check_in: string; nights: number }[]>`
    SELECT id, room_id, check_in, nights FROM bookings WHERE status = 'confirmed'`;
  const problems: string[] = [];
  const reservedById = new Map(reserved.map((r) => [r.booking_id, r]));
  for (const booking of confirmed) {
    const reservation = reservedById.get(booking.id);
    if (!reservation) problems.push(`confirmed booking ${booking.id} holds no nights`);
    else if (reservation.nights.length !== booking.nights || reservation.nights[0] !== booking.check_in)
      problems.push(`booking ${booking.id} nights differ from its reservation`);
    reservedById.delete(booking.id);
  }
  for (const orphan of reservedById.keys()) problems.push(`reserved nights of ${orphan} have no confirmed booking`);
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
): Promise<Map<string, any>> {
  const done = new Map<string, any>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < requestIds.length && Date.now() < deadline) {
    const pending = requestIds.filter((id) => !done.has(id));
    const views = await Promise.all(
      pending.map((id) => api('GET', `/api/enrollments/requests/${id}`, { token: adminToken })),
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
