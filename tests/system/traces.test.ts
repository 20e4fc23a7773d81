import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createRoom,
  createSection,
  day,
  eventually,
  startTestStack,
  token,
  waitForTerminal,
  type TestStack,
} from './support.js';
import { descendsFrom, orphans, otlpEnv, SPAN_KIND, startOtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

/**
 * Traces across the broker (issue 15.4): the real processes export over OTLP/HTTP (their own
 * exporters and batch processors) to a receiver in the test. The client sends a `traceparent`
 * of its own, so the trace to look for is known: every span the request caused, in every
 * process, must hang off it in one tree.
 */
let stack: TestStack;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  stack = await startTestStack('traces', {
    replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 },
    env: otlpEnv(receiver.endpoint),
  });
  api = apiClient(stack.gatewayUrl);
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

/** A W3C traceparent for a client span of the test's own. */
function clientSpan() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/**
 * The trace once it is whole and has stopped growing (the services flush every 100 ms; a span is
 * exported when it ends, so a parent still open — a consumer working on — arrives after its children).
 */
async function settledTrace(traceId: string, ready: (spans: ReceivedSpan[]) => boolean, rootParent: string): Promise<ReceivedSpan[]> {
  let size = -1;
  await eventually(
    async () => {
      const spans = receiver.trace(traceId);
      const settled = ready(spans) && orphans(spans, rootParent).length === 0 && spans.length === size;
      size = spans.length;
      return settled;
    },
    30_000,
    300,
  );
  return receiver.trace(traceId);
}

const of = (spans: ReceivedSpan[], service: string) => spans.filter((span) => span.service === service);
const isDb = (span: ReceivedSpan) => span.attributes['db.system.name'] === 'postgresql';
const describeTrace = (spans: ReceivedSpan[]) => spans.map((s) => `${s.service}: ${s.name} (${s.kind})`).join('\n');

describe('one booking is one trace: gateway → booking → inventory', () => {
  it('holds the HTTP request, both RPCs, each service’s queries and the room-night lock with its Redis commands', async () => {
    const room = await createRoom(api, { name: 'traced room', total_quantity: 3 });
    const client = clientSpan();
    const response = await api('POST', '/api/bookings', {
      token: await token('traced-guest'),
      body: { room_id: room.id, check_in: day(2), check_out: day(4) },
      headers: { traceparent: client.traceparent },
    });
    expect(response.status).toBe(201);

    const spans = await settledTrace(client.traceId, (s) => of(s, 'inventory').some(isDb) && of(s, 'booking').some(isDb), client.spanId);
    const trace = describeTrace(spans);
    if (process.env.SHOW_TRACE) console.log(trace);
    expect(new Set(spans.map((s) => s.service)), trace).toEqual(expect.objectContaining(new Set(['gateway', 'booking', 'inventory'])));
    for (const service of ['gateway', 'booking', 'inventory']) expect(of(spans, service).length, trace).toBeGreaterThan(0);

    // The gateway's HTTP server span continues the client's span; everything else hangs below it.
    const [http] = spans.filter((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server);
    expect(http, trace).toBeDefined();
    expect(http!.parentSpanId).toBe(client.spanId);
    expect(http!.attributes['http.request.method'] ?? http!.attributes['http.method']).toBe('POST');
    expect(orphans(spans, client.spanId), trace).toEqual([]);
    for (const span of spans.filter((s) => s !== http))
      expect(descendsFrom(spans, span, http!), `${span.service}: ${span.name}`).toBe(true);

    // Gateway → booking and booking → inventory are RPCs over RabbitMQ: a client span in the
    // caller, a server span (a child of it) in the callee.
    const rpcServer = (service: string) =>
      spans.filter((s) => s.service === service && s.kind === SPAN_KIND.server && s.attributes['rpc.system'] === 'cupo-amqp');
    for (const service of ['booking', 'inventory']) {
      const servers = rpcServer(service);
      expect(servers.length, trace).toBeGreaterThan(0);
      for (const server of servers) {
        const parent = spans.find((s) => s.spanId === server.parentSpanId)!;
        expect(parent.kind).toBe(SPAN_KIND.client);
        expect(parent.name).toBe(server.name);
      }
    }
    expect(rpcServer('booking').some((s) => spans.find((p) => p.spanId === s.parentSpanId)?.service === 'gateway')).toBe(true);
    expect(rpcServer('inventory').some((s) => spans.find((p) => p.spanId === s.parentSpanId)?.service === 'booking')).toBe(true);

    // Each service's queries, inside its RPC handling; statements without their values.
    for (const service of ['booking', 'inventory']) {
      const queries = of(spans, service).filter(isDb);
      expect(queries.length, trace).toBeGreaterThan(0);
      for (const query of queries) {
        expect(query.kind).toBe(SPAN_KIND.client);
        expect(rpcServer(service).some((server) => descendsFrom(spans, query, server))).toBe(true);
        expect(String(query.attributes['db.query.text'])).not.toContain('traced-guest');
      }
    }

    // The room-night lock, with redlock's Redis commands (ioredis instrumentation) inside it.
    const [lock] = of(spans, 'booking').filter((s) => s.name === 'lock room-nights');
    expect(lock, trace).toBeDefined();
    expect(lock!.attributes['cupo.room_id']).toBe(room.id);
    const redis = of(spans, 'booking').filter((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis');
    expect(redis.filter((s) => s !== lock && descendsFrom(spans, s, lock!)).length, trace).toBeGreaterThan(0);
  });
});

describe('one enrollment is one trace: from the 202 through the outbox and the queue to each saga step', () => {
  it('continues the request’s trace in the outbox publish, the consumer and every step of the saga', async () => {
    await createSection(api, { code: 'TR-OTL-1', course: 'TROT1', capacity: 5, schedule: [{ day: 'mon', start: '10:00', end: '11:00' }] });
    await createSection(api, { code: 'TR-OTL-2', course: 'TROT2', capacity: 5, schedule: [{ day: 'tue', start: '10:00', end: '11:00' }] });
    const client = clientSpan();
    const response = await api('POST', '/api/enrollments', {
      token: await token('RA0042', 'student'),
      body: { term: '1-2025', sections: ['TR-OTL-1', 'TR-OTL-2'] },
      headers: { traceparent: client.traceparent },
    });
    expect(response.status).toBe(202);
    const done = await waitForTerminal(api, [response.body.request_id], await token('admin-traces', 'admin'));
    expect(done.get(response.body.request_id)?.status).toBe('completed');

    const steps = (s: ReceivedSpan[]) => s.filter((span) => span.name.startsWith('saga step '));
    const spans = await settledTrace(client.traceId, (s) => steps(s).some((span) => span.name === 'saga step confirm'), client.spanId);
    const trace = describeTrace(spans);
    if (process.env.SHOW_TRACE) console.log(trace);
    expect(orphans(spans, client.spanId), trace).toEqual([]);

    const [http] = spans.filter((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server);
    expect(http?.parentSpanId, trace).toBe(client.spanId);

    // The request's own RPC wrote the outbox row; the relay published it later, in this trace.
    const [publish] = spans.filter(
      (s) =>
        s.service === 'enrollment' && s.kind === SPAN_KIND.producer && String(s.attributes['messaging.message.id']).startsWith('outbox-'),
    );
    expect(publish, trace).toBeDefined();
    const submit = spans.find(
      (s) => s.service === 'enrollment' && s.kind === SPAN_KIND.server && s.attributes['rpc.system'] === 'cupo-amqp',
    );
    expect(submit, trace).toBeDefined();
    expect(descendsFrom(spans, publish!, submit!)).toBe(true);
    expect(
      of(spans, 'enrollment')
        .filter(isDb)
        .some((q) => /INSERT INTO outbox/.test(String(q.attributes['db.query.text'])) && descendsFrom(spans, q, submit!)),
    ).toBe(true);

    // The queue's consumer continues from the publish, and each saga step runs inside it.
    const consumers = spans.filter((s) => s.kind === SPAN_KIND.consumer && s.service === 'enrollment');
    expect(consumers.length, trace).toBeGreaterThan(0);
    expect(consumers.some((c) => c.parentSpanId === publish!.spanId)).toBe(true);
    const names = steps(spans).map((s) => `${s.name}${s.attributes['cupo.section'] ? ` ${s.attributes['cupo.section']}` : ''}`);
    expect(names, trace).toEqual(
      expect.arrayContaining(['saga step validate', 'saga step reserve TR-OTL-1', 'saga step reserve TR-OTL-2', 'saga step confirm']),
    );
    for (const step of steps(spans)) {
      expect(consumers.some((c) => descendsFrom(spans, step, c))).toBe(true);
      expect(descendsFrom(spans, step, http!)).toBe(true);
    }
    // The steps' queries are children of their transactions, inside the same trace.
    const transactions = of(spans, 'enrollment').filter((s) => s.name === 'transaction');
    expect(transactions.some((t) => steps(spans).some((step) => descendsFrom(spans, step, t)))).toBe(true);
  });
});

describe('an onboarding ingest is one trace down to the worker’s provider calls', () => {
  it('holds the worker’s HTTP client spans to the directory and the LMS under the 202', async () => {
    const admin = await token('admin-traces', 'admin');
    const rates = { batch_size: 20, rate_limit_directory_per_min: 1_500, rate_limit_lms_per_min: 1_500, rate_limit_email_per_min: 1_500 };
    expect((await api('PUT', '/api/admin/config', { token: admin, body: rates })).status).toBe(200);
    const client = clientSpan();
    const accepted = await api('POST', '/api/admin/onboarding/ingest', {
      token: admin,
      body: { students: [{ id: 'OTEL1', name: 'Student OTEL1', email: 'otel1@mail.cupo.test' }] },
      headers: { traceparent: client.traceparent },
    });
    expect(accepted.status).toBe(202);

    const providerCalls = (s: ReceivedSpan[]) =>
      s.filter(
        (span) =>
          span.service === 'worker' &&
          span.kind === SPAN_KIND.client &&
          (span.attributes['http.request.method'] ?? span.attributes['http.method']) !== undefined,
      );
    const hosts = (s: ReceivedSpan[]) =>
      new Set(providerCalls(s).map((span) => new URL(String(span.attributes['url.full'] ?? span.attributes['http.url'])).port));
    const spans = await settledTrace(client.traceId, (s) => hosts(s).size >= 2, client.spanId);
    const trace = describeTrace(spans);
    expect(orphans(spans, client.spanId), trace).toEqual([]);
    const [http] = spans.filter((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server);
    expect(http?.parentSpanId, trace).toBe(client.spanId);
    const calls = providerCalls(spans);
    expect(hosts(spans).size, trace).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      expect(descendsFrom(spans, call, http!), `${call.name}`).toBe(true);
      expect(spans.some((s) => s.kind === SPAN_KIND.consumer && descendsFrom(spans, call, s))).toBe(true);
    }
    // The directory is asked for the student by UPN (`/v1.0/users/<upn>`): the spans name the
    // path's template, and no provider call's attributes hold a name with an `@` or a query string.
    expect(
      calls.map((call) => String(call.attributes['url.path'])),
      trace,
    ).toContainEqual(expect.stringMatching(/\/users\/\{id\}$/));
    for (const call of calls) {
      expect(call.attributes).not.toHaveProperty('url.query');
      expect(JSON.stringify(call.attributes)).not.toMatch(/@|%40|otel1/i);
    }
  });
});
