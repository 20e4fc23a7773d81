import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { EnrollmentAccepted, EnrollmentRequestView } from '@cupo/contracts';
import { stopProcess, type ServiceProcess } from '@cupo/stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createSection,
  enrollmentInvariantViolations,
  eventually,
  startTestStack,
  token,
  waitForTerminal,
  type TestStack,
} from './support.js';

/**
 * What the broker does to consumers on its own: cancels them when their queue is deleted,
 * closes their channel when a declaration no longer matches, refuses publishes, and keeps
 * handing out a message whose consumer dies every time. Each is done here to a real
 * RabbitMQ, in this file's own vhost.
 */
const QUEUE = 'enrollment.requests';
const DELIVERY_LIMIT = 3;

let stack: TestStack;
let api: ReturnType<typeof apiClient>;
let admin: string;
let broker: ChannelModel;
const replicas: ServiceProcess[] = [];

beforeAll(async () => {
  stack = await startTestStack('brokerfaults', {
    replicas: { inventory: 0, booking: 0, enrollment: 0 },
    serviceEnv: {
      enrollment: {
        JOB_PREFETCH: '4',
        JOB_RETRY_INITIAL_MS: '50',
        JOB_RETRY_MAX_MS: '400',
        JOB_DELIVERY_LIMIT: String(DELIVERY_LIMIT),
        // The sweep that re-announces stalled requests would hide a stranded message.
        STALE_REQUEST_MS: '600000',
      },
    },
  });
  api = apiClient(stack.gatewayUrl);
  admin = await token('admin-1', 'admin');
  broker = await amqp.connect(stack.amqpUrl);
  broker.on('error', () => undefined);
});

afterEach(async () => {
  await Promise.all(replicas.splice(0).map((proc) => stopProcess(proc)));
});

afterAll(async () => {
  await broker?.close().catch(() => undefined);
  await stack?.close();
});

async function startReplica(): Promise<ServiceProcess> {
  const proc = await stack.startReplica('enrollment');
  replicas.push(proc);
  return proc;
}

/** A throwaway channel: a failed declaration closes the channel it was made on. */
async function withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await broker.createChannel();
  channel.on('error', () => undefined);
  try {
    return await work(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

const queueState = (queue: string) =>
  withChannel((c) => c.checkQueue(queue)).then(
    ({ messageCount, consumerCount }) => ({ messages: messageCount, consumers: consumerCount }),
    () => undefined,
  );

async function readiness(proc: ServiceProcess): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${proc.port}/readyz`);
  return { status: response.status, body: await response.json() };
}

/** Polls /readyz every 25 ms in the background; `stop()` returns what was seen. */
function watchReadiness(proc: ServiceProcess) {
  const seen: { status: number; body: unknown }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      seen.push(await readiness(proc).catch(() => ({ status: 0, body: {} })));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

async function enrollAndWait(student: string, section: string): Promise<EnrollmentRequestView | undefined> {
  const submitted = await api<EnrollmentAccepted>('POST', '/api/enrollments', {
    token: await token(student, 'student'),
    body: { term: '1-2025', sections: [section] },
  });
  expect(submitted.status).toBe(202);
  const views = await waitForTerminal(api, [submitted.body.request_id], admin, 20_000);
  return views.get(submitted.body.request_id);
}

describe('consumers the broker cancels or closes', () => {
  it('re-creates a consumer whose queue was deleted, and is not ready until it is back', async () => {
    const proc = await startReplica();
    await createSection(api, { code: 'BF-DEL-1', course: 'BFD1', capacity: 5, schedule: [{ day: 'mon', start: '08:00', end: '09:00' }] });
    const watch = watchReadiness(proc);
    await withChannel((c) => c.deleteQueue(QUEUE));
    const back = await eventually(
      async () => (await queueState(QUEUE))?.consumers === 1 && (await readiness(proc)).status === 200,
      10_000,
      50,
    );
    const seen = await watch.stop();
    expect(back).toBe(true);
    expect(seen.some((r) => r.status === 503 && JSON.stringify(r.body).includes(`consumer:${QUEUE}`))).toBe(true);
    expect((await enrollAndWait('RA0011', 'BF-DEL-1'))?.status).toBe('completed');

    // The same for the RPC queue behind every synchronous enrollment route.
    await withChannel((c) => c.deleteQueue('enrollment.rpc'));
    expect(await eventually(async () => (await api('GET', '/api/sections/BF-DEL-1')).status === 200, 10_000, 100)).toBe(true);
    expect(proc.child.exitCode).toBeNull();
  });

  it('stays not ready while the broker refuses its queue declaration, and attaches once it is fixed', async () => {
    const proc = await startReplica();
    await createSection(api, { code: 'BF-DECL-1', course: 'BFD2', capacity: 5, schedule: [{ day: 'tue', start: '08:00', end: '09:00' }] });
    // Someone deletes the queue and declares it again with other arguments: every declaration
    // of ours now makes the broker close the channel it was made on (406 PRECONDITION_FAILED).
    // (Redeclared at once, RabbitMQ 3.10 moves the old consumer onto the new quorum queue
    // instead of cancelling it; so the new one comes once the cancel has landed.)
    await withChannel((c) => c.deleteQueue(QUEUE));
    expect(await eventually(async () => (await readiness(proc)).status === 503, 5_000, 20)).toBe(true);
    await withChannel((c) => c.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 99 } }));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const watch = watchReadiness(proc);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const seen = await watch.stop();
    expect(seen.length).toBeGreaterThan(10);
    for (const answer of seen) {
      expect(answer.status).toBe(503);
      expect(JSON.stringify(answer.body)).toContain(`consumer:${QUEUE}`);
    }
    expect(proc.child.exitCode).toBeNull();

    await withChannel((c) => c.deleteQueue(QUEUE));
    expect(
      await eventually(async () => (await readiness(proc)).status === 200 && (await queueState(QUEUE))?.consumers === 1, 15_000, 100),
    ).toBe(true);
    expect((await enrollAndWait('RA0012', 'BF-DECL-1'))?.status).toBe('completed');
  });
});

describe('upgrading from classic job queues', () => {
  it('replaces the classic queue an older version declared by a quorum queue, once, with two replicas starting at once', async () => {
    // What the version before quorum queues left behind: a classic queue, one announcement in it.
    await withChannel(async (c) => {
      await c.deleteQueue(QUEUE);
      await c.assertQueue(QUEUE, { durable: true });
      c.sendToQueue(QUEUE, Buffer.from('{"request_id":"00000000-0000-4000-8000-000000000000"}'), { persistent: true });
    });
    const started = await Promise.all([startReplica(), startReplica()]);
    for (const proc of started) expect((await readiness(proc)).status).toBe(200);
    // It is a quorum queue now: declaring it the old way is refused; both replicas consume it.
    const declaredOldWay = await withChannel((c) => c.assertQueue(QUEUE, { durable: true })).then(
      () => true,
      () => false,
    );
    expect(declaredOldWay).toBe(false);
    expect((await queueState(QUEUE))?.consumers).toBe(2);
    expect(await queueState(`${QUEUE}.migration-lock`)).toBeUndefined();
    await createSection(api, { code: 'BF-MIG-1', course: 'BFG1', capacity: 5, schedule: [{ day: 'fri', start: '08:00', end: '09:00' }] });
    expect((await enrollAndWait('RA0015', 'BF-MIG-1'))?.status).toBe('completed');
  });
});

describe('a delivery the consumer cannot move', () => {
  it('is handed back to the queue, not held until the channel dies', async () => {
    // A replica that pauses a second or more before handing a delivery back: time for this
    // test to see the refusal and lift it before the message is delivered again.
    const proc = await stack.startReplica('enrollment', { JOB_RETRY_INITIAL_MS: '2000', JOB_RETRY_MAX_MS: '4000' });
    replicas.push(proc);
    const dead = `${QUEUE}.dead`;
    // The dead-letter queue refuses every publish for now (a length limit of 0 that rejects).
    await withChannel(async (c) => {
      await c.deleteQueue(dead);
      await c.assertQueue(dead, { durable: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    });
    // A message no consumer can parse goes to the dead-letter queue at once — which refuses it.
    await withChannel(async (c) => {
      c.sendToQueue(QUEUE, Buffer.from('{"not":"a request"}'), { persistent: true, messageId: 'unparseable-1' });
      await new Promise((resolve) => setTimeout(resolve, 100));
    });
    expect(
      await eventually(async () => {
        const log = await import('node:fs').then((fs) => fs.readFileSync(proc.logFile, 'utf8'));
        return log.includes('handing it back for redelivery');
      }, 10_000),
    ).toBe(true);

    // Once the broker takes publishes again, the message lands in the dead-letter queue and
    // the work queue drains: nothing was stranded in the consumer's hands.
    await withChannel(async (c) => {
      await c.deleteQueue(dead);
      await c.assertQueue(dead, { durable: true });
    });
    expect(
      await eventually(async () => (await queueState(dead))?.messages === 1 && (await queueState(QUEUE))?.messages === 0, 15_000, 100),
    ).toBe(true);
    await createSection(api, { code: 'BF-MOVE-1', course: 'BFM1', capacity: 5, schedule: [{ day: 'wed', start: '08:00', end: '09:00' }] });
    expect((await enrollAndWait('RA0013', 'BF-MOVE-1'))?.status).toBe('completed');
    await withChannel((c) => c.purgeQueue(dead));
  });
});

describe('a message that kills its consumer', () => {
  it(`is given up on after ${DELIVERY_LIMIT} deliveries: its request fails and the queue drains`, async () => {
    let proc = await startReplica();
    await createSection(api, { code: 'BF-KILL-1', course: 'BFK1', capacity: 5, schedule: [{ day: 'thu', start: '08:00', end: '09:00' }] });
    // The test holds the section's row lock, so whoever takes the request blocks inside its
    // first transaction — and is killed there, every time.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const holder = stack.enrollmentDb.begin(async (tx) => {
      await tx`SELECT code FROM sections WHERE code = 'BF-KILL-1' FOR UPDATE`;
      locked();
      await held;
    });
    await lockTaken;
    try {
      const submitted = await api('POST', '/api/enrollments', {
        token: await token('RA0014', 'student'),
        body: { term: '1-2025', sections: ['BF-KILL-1'] },
      });
      expect(submitted.status).toBe(202);
      const requestId = submitted.body.request_id as string;

      const waiting = async () => {
        const [row] = await stack.enrollmentDb`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'cupo-enrollment' AND wait_event_type = 'Lock'`;
        return row!.n > 0;
      };
      let kills = 0;
      for (; kills < DELIVERY_LIMIT + 3; kills++) {
        const status = (await stack.enrollmentDb`SELECT status FROM enrollment_requests WHERE id = ${requestId}`)[0]?.status;
        if (status === 'failed' || !(await eventually(waiting, 8_000, 50))) break;
        proc.child.kill('SIGKILL');
        await proc.exited;
        replicas.splice(replicas.indexOf(proc), 1);
        // A backend blocked on a lock does not notice that its client died; end it as the
        // server's TCP keepalive eventually would, so the next wait seen is the next replica's.
        await stack.enrollmentDb`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'cupo-enrollment'`;
        proc = await startReplica();
      }
      expect(kills).toBe(DELIVERY_LIMIT);
      const view = (await waitForTerminal(api, [requestId], admin, 15_000)).get(requestId);
      expect(view?.status).toBe('failed');
      expect(view?.error?.code).toBe('PROCESSING_FAILED');
      expect(view?.error?.detail).toContain(`delivered ${DELIVERY_LIMIT} times`);
      expect(
        await eventually(
          async () => (await queueState(QUEUE))?.messages === 0 && (await queueState(`${QUEUE}.dead`))?.messages === 1,
          10_000,
        ),
      ).toBe(true);
      expect(await waiting()).toBe(false);
    } finally {
      release();
      await holder;
    }
    expect(await enrollmentInvariantViolations(stack)).toEqual([]);
  });
});
