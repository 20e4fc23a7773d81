import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { parse } from 'yaml';
import type { Booking, Enrollment, EnrollmentAccepted, QueryAccepted, Room, Section, Student, Term } from '@cupo/contracts';
import { signToken } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDay, operationsOf, planArbitrary, type Operation, type Plan, type PoolName, type Role } from './fuzz-requests.js';
import {
  enrollmentInvariantViolations,
  eventually,
  invariantViolations,
  nightStates,
  reservationMismatches,
  startTestStack,
  type Problem,
  type TestStack,
} from './support.js';

/**
 * The public API fuzzed from openapi.yaml (see fuzz-requests.ts) against the real processes.
 * FUZZ_SECONDS (default 40; `make test` stays under a minute) bounds the run, FUZZ_SEED
 * replays one (the seed is printed at the start and in a failure). It fails on any 5xx that
 * is not a deliberate limit (a lock timeout, an open breaker, a deadline — on a shared
 * machine a deadline can pass; the summary line counts them), any error that is not problem+json, any 2xx
 * the contract says must be refused, any process exit, and any broken invariant once the
 * system has settled (rooms' nights, bookings against reservations, sections' seats,
 * enrollment requests and queries that never end).
 */
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 40);
const SEED = process.env.FUZZ_SEED === undefined ? randomInt(2 ** 31 - 1) : Number(process.env.FUZZ_SEED);
/** 5xx answers that are a limit doing its job: a lock wait, an open breaker, a service's deadline. */
const DELIBERATE_5XX = new Map([
  [503, new Set(['LOCK_TIMEOUT', 'DEPENDENCY_UNAVAILABLE', 'SERVICE_UNAVAILABLE'])],
  [504, new Set(['UPSTREAM_TIMEOUT'])],
]);
const SECRET = process.env.JWT_SECRET ?? 'dev-secret-change-me';

const document = parse(readFileSync(fileURLToPath(new URL('../../openapi.yaml', import.meta.url)), 'utf8'));
const operations = operationsOf(document);
const byKey = new Map(operations.map((op) => [op.key, op]));

interface Owned {
  id: string;
  owner: string;
}

let stack: TestStack;
const pools: Record<PoolName, (string | number | Owned)[]> = {
  rooms: [],
  bookings: [],
  requests: [],
  enrollments: [],
  queries: [],
  tasks: [],
  sections: [],
  students: Array.from({ length: 50 }, (_, i) => `RA${String(i + 1).padStart(4, '0')}`),
  users: [],
  terms: [],
  breakers: ['postgres', 'publishing', 'redis', 'nosuchbreaker'],
  idemEntries: ['fz-1', 'enrollment:6:RA0001:fz-1', 'no-such-entry'],
};

beforeAll(async () => {
  stack = await startTestStack('fuzz', { replicas: { inventory: 1, booking: 2, enrollment: 1, worker: 1 } });
  const get = async <T>(path: string) => (await fetch(`${stack.gatewayUrl}${path}`)).json() as Promise<T[]>;
  pools.rooms.push(...(await get<Room>('/api/rooms')).map((r) => r.id));
  pools.sections.push(...(await get<Section>('/api/sections')).map((s) => s.code), 'NOPE-1');
  pools.terms.push(...(await get<Term>('/api/terms')).map((t) => t.code), '9-1999');
  pools.users.push(...subjects('guest'), ...subjects('student'), 'someone-else');
});

afterAll(async () => {
  await stack?.close();
});

function subjects(role: Role): string[] {
  return Array.from({ length: 6 }, (_, i) => subjectOf(role, i));
}
function subjectOf(role: Role, user: number): string {
  return role === 'admin' ? 'fz-admin' : role === 'student' ? `RA${String(user + 1).padStart(4, '0')}` : `fz-guest-${user}`;
}

const tokens = new Map<string, Promise<string | undefined>>();
function tokenFor(plan: Plan): Promise<string | undefined> {
  const { kind, role, user } = plan.token;
  const key = `${kind}/${role}/${user}`;
  if (!tokens.has(key) || kind === 'expired') tokens.set(key, makeToken(kind, role, subjectOf(role, user)));
  return tokens.get(key)!;
}
async function makeToken(kind: Plan['token']['kind'], role: Role, sub: string): Promise<string | undefined> {
  const key = new TextEncoder().encode(SECRET);
  const now = Math.floor(Date.now() / 1000);
  switch (kind) {
    case 'none':
      return undefined;
    case 'valid':
      return signToken({ sub, role });
    case 'expired':
      return new SignJWT({ role })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuedAt(now - 120)
        .setExpirationTime(now - 60)
        .sign(key);
    case 'foreign-secret':
      return signToken({ sub, role, secret: 'somebody-elses-secret-entirely' });
    case 'alg-none': {
      const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, role, iat: now, exp: now + 600 })}.`;
    }
    case 'no-exp':
      return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt(now).sign(key);
    case 'too-long':
      return signToken({ sub, role, lifetimeSeconds: 10 * 365 * 86_400, env: {} });
    case 'garbage':
      return 'not.a.jwt';
  }
}

interface Sent {
  plan: Plan;
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyText?: string;
  mustRefuse?: string;
  sub?: string;
}

/** Turns a plan into a request against the pools as they are now (another user's resource must be refused). */
async function resolve(plan: Plan, op: Operation): Promise<Sent> {
  const valid = plan.token.kind === 'valid';
  const sub = subjectOf(plan.token.role, plan.token.user);
  let mustRefuse = plan.mustRefuse;
  const foreign = (what: string) => {
    if (valid && plan.token.role !== 'admin' && op.secured) mustRefuse ??= `another user's ${what}`;
  };
  const materialise = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(materialise);
    if (value && typeof value === 'object') {
      if ('$day' in value) return isoDay((value as { $day: number }).$day);
      if ('$pool' in value) {
        const { $pool, i } = value as { $pool: PoolName; i: number };
        const pool = pools[$pool];
        if (pool.length === 0) return $pool === 'rooms' ? 999_999 : '00000000-0000-4000-8000-000000000000';
        const picked = pool[i % pool.length]!;
        if (typeof picked === 'object') {
          if (picked.owner !== sub) foreign($pool);
          return picked.id;
        }
        return picked;
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, materialise(v)]));
    }
    return value;
  };
  let path = op.path;
  for (const [name, value] of Object.entries(plan.path)) {
    const raw = plan.rawPath[name];
    const concrete = raw ?? encodeURIComponent(String(materialise(value)));
    if (raw === undefined && op.path === '/api/students/{id}/enrollments' && materialise(value) !== sub) foreign('enrollments');
    path = path.replace(`{${name}}`, concrete);
  }
  const query = materialise(plan.query) as Record<string, unknown>;
  if (op.key === 'GET /api/bookings' && query.user_id !== undefined && query.user_id !== sub) foreign('bookings');
  const search = new URLSearchParams(
    Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  const headers: Record<string, string> = {};
  const token = await tokenFor(plan);
  if (token) headers.authorization = `Bearer ${token}`;
  if (plan.idempotencyKey !== undefined) headers['idempotency-key'] = plan.idempotencyKey;
  let bodyText: string | undefined;
  if (plan.body.kind === 'json') bodyText = JSON.stringify(materialise(plan.body.value));
  if (plan.body.kind === 'raw') bodyText = plan.body.text;
  if (bodyText !== undefined) headers['content-type'] = 'application/json';
  return {
    plan,
    method: op.method,
    url: `${stack.gatewayUrl}${path}${search ? `?${search}` : ''}`,
    headers,
    ...(bodyText === undefined ? {} : { bodyText }),
    ...(mustRefuse ? { mustRefuse } : {}),
    sub,
  };
}

function encode(sent: Sent): { body?: Buffer | string; headers: Record<string, string> } {
  if (sent.bodyText === undefined) return { headers: sent.headers };
  const plain = Buffer.from(sent.bodyText);
  switch (sent.plan.encoding) {
    case 'gzip':
      return { body: gzipSync(plain), headers: { ...sent.headers, 'content-encoding': 'gzip' } };
    case 'gzip-truncated': {
      const gz = gzipSync(plain);
      return { body: gz.subarray(0, Math.max(1, gz.length - 6)), headers: { ...sent.headers, 'content-encoding': 'gzip' } };
    }
    case 'br-garbage':
      return { body: plain, headers: { ...sent.headers, 'content-encoding': 'br' } };
    case 'unknown':
      return { body: plain, headers: { ...sent.headers, 'content-encoding': 'compress' } };
    default:
      return { body: sent.bodyText, headers: sent.headers };
  }
}

/** Learns ids from successful answers, so later plans reach what earlier ones created. */
function remember(op: Operation, sent: Sent, status: number, body: unknown): void {
  if (status >= 300 || !body) return;
  const owner = sent.sub ?? '';
  // A 2xx answer is the operation's contract type (the contract tests hold the gateway to it).
  switch (op.key) {
    case 'POST /api/admin/rooms':
      pools.rooms.push((body as Room).id);
      break;
    case 'POST /api/bookings':
    case 'POST /api/bookings/confirm':
      pools.bookings.push({ id: (body as Booking).id, owner: (body as Booking).user_id });
      break;
    case 'POST /api/enrollments':
      pools.requests.push({ id: (body as EnrollmentAccepted).request_id, owner });
      break;
    case 'GET /api/students/{id}/enrollments':
      for (const e of body as Enrollment[]) pools.enrollments.push({ id: e.id, owner: e.student_id });
      break;
    case 'POST /api/queries':
      pools.queries.push({ id: (body as QueryAccepted).query_id, owner });
      break;
    case 'POST /api/admin/onboarding/ingest':
      pools.tasks.push((body as { task_id: string }).task_id);
      break;
    case 'POST /api/admin/sections':
      pools.sections.push((body as Section).code);
      break;
    case 'POST /api/admin/students':
      pools.students.push((body as Student).id);
      break;
  }
}

/** How often each operation got each status: shows whether valid requests reach deep code. */
const answers = new Map<string, number>();

const processExits = () =>
  stack.processes
    .filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
    .map((p) => `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}); see ${p.logFile}`);

/** One request, sent and judged: what is wrong with its answer, if anything. */
async function exercise(plan: Plan): Promise<string[]> {
  const op = byKey.get(plan.op)!;
  const sent = await resolve(plan, op);
  const { body, headers } = encode(sent);
  let response: Response;
  try {
    response = await fetch(sent.url, { method: sent.method, headers, ...(body === undefined ? {} : { body }) });
  } catch (error) {
    // fetch refuses some header values itself (they never leave this process): nothing to judge.
    if (error instanceof TypeError && !(error as { cause?: unknown }).cause) return [];
    return [`${summary(sent)}: no answer (${String((error as Error).cause ?? error)})`];
  }
  const text = await response.text();
  // Read as a problem whose every field is checked below before it is trusted (a 2xx is remembered as its own type).
  let parsed: Partial<Problem> | undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const problems: string[] = [];
  const status = response.status;
  const what = `${summary(sent)} → ${status} ${text.slice(0, 300)}`;
  if (status >= 400) {
    if (!/^application\/problem\+json/.test(response.headers.get('content-type') ?? ''))
      problems.push(`${what}: an error that is not problem+json`);
    else if (
      !parsed ||
      parsed.status !== status ||
      typeof parsed.code !== 'string' ||
      !/^[A-Z][A-Z0-9_]*$/.test(parsed.code) ||
      typeof parsed.type !== 'string' ||
      typeof parsed.title !== 'string' ||
      typeof parsed.detail !== 'string'
    ) {
      problems.push(`${what}: a problem without type, title, status, detail and code`);
    }
  }
  if (status >= 500 && !DELIBERATE_5XX.get(status)?.has(parsed?.code))
    problems.push(`${what}: a 5xx that is no deliberate breaker or limit`);
  if (status < 300 && sent.mustRefuse) problems.push(`${what}: accepted, but must be refused (${sent.mustRefuse})`);
  if (!response.headers.get('x-request-id')) problems.push(`${what}: no X-Request-Id`);
  remember(op, sent, status, parsed);
  const tally = `${op.key} ${status}`;
  answers.set(tally, (answers.get(tally) ?? 0) + 1);
  return problems;
}

function summary(sent: Sent): string {
  const extra = [
    sent.plan.encoding !== 'identity' ? `Content-Encoding ${sent.plan.encoding}` : '',
    sent.headers['idempotency-key'] !== undefined ? `Idempotency-Key ${JSON.stringify(sent.headers['idempotency-key'])}` : '',
    `token ${sent.plan.token.kind} ${sent.plan.token.role}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `${sent.method} ${sent.url.replace(stack.gatewayUrl, '')} ${sent.bodyText === undefined ? '' : JSON.stringify(sent.bodyText.slice(0, 300))} (${extra})`;
}

const batch = fc.array(fc.constantFrom(...operations).chain(planArbitrary), { minLength: 1, maxLength: 6 });

describe('the public API under generated hostile and valid input', () => {
  it('covers every operation of openapi.yaml', () => {
    expect(operations.length).toBeGreaterThanOrEqual(30);
    for (const op of operations) expect(() => fc.sample(planArbitrary(op), { numRuns: 20, seed: 1 }), op.key).not.toThrow();
  });

  it(`never answers 5xx, a non-problem error or a forbidden 2xx, and breaks no invariant (seed ${SEED}, ${SECONDS} s)`, {
    timeout: SECONDS * 1_000 + 240_000,
  }, async () => {
    console.info(`fuzz: seed ${SEED}, ${SECONDS} s — replay with FUZZ_SEED=${SEED} (FUZZ_SECONDS=${SECONDS})`);
    let requests = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(batch, async (plans) => {
        const found = (await Promise.all(plans.map(exercise))).flat();
        requests += plans.length;
        found.push(...processExits());
        if (found.length > 0) throw new Error(`seed ${SEED}:\n${found.join('\n')}`);
      }),
      {
        seed: SEED,
        numRuns: Number.MAX_SAFE_INTEGER,
        interruptAfterTimeLimit: SECONDS * 1_000,
        markInterruptAsFailure: false,
        endOnFailure: true,
      },
    );
    const deadlines = [...answers].filter(([k]) => / 50[34]$/.test(k)).reduce((n, [, c]) => n + c, 0);
    console.info(`fuzz: ${deadlines} deliberate 503/504 answers`);
    console.info(
      `fuzz: ${requests} requests in ${((Date.now() - started) / 1000).toFixed(0)} s, ${pools.bookings.length} bookings, ${pools.requests.length} enrollment requests, ${pools.queries.length} queries`,
    );
    if (process.env.FUZZ_VERBOSE)
      console.info(
        [...answers]
          .sort()
          .map(([k, n]) => `${k}: ${n}`)
          .join('\n'),
      );

    // Settled: every request and query answered, no booking half-way, then the invariants.
    expect(
      await eventually(
        async () => {
          const [open] = await stack.enrollmentDb<
            { n: number }[]
          >`SELECT count(*)::int AS n FROM enrollment_requests WHERE status IN ('queued', 'processing')`;
          const [pending] = await stack.bookingDb<
            { n: number }[]
          >`SELECT count(*)::int AS n FROM bookings WHERE status = 'pending' OR release_owed`;
          const [queries] = await stack.workerDb<{ n: number }[]>`SELECT count(*)::int AS n FROM queries WHERE status = 'pending'`;
          return open!.n === 0 && pending!.n === 0 && queries!.n === 0;
        },
        90_000,
        500,
      ),
      'every enrollment request, booking and query reached its end',
    ).toBe(true);
    const rooms = await stack.inventoryDb<{ id: number }[]>`SELECT id FROM rooms`;
    const nights = (
      await Promise.all(rooms.map(async (r) => invariantViolations(await nightStates(stack, r.id)).map((v) => `room ${r.id} ${v}`)))
    ).flat();
    expect(nights).toEqual([]);
    expect(await reservationMismatches(stack)).toEqual([]);
    expect(await enrollmentInvariantViolations(stack)).toEqual([]);
    expect(processExits()).toEqual([]);
  });
});
