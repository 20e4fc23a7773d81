import { readFileSync } from 'node:fs';
import { connectAmqp, RpcClient } from '@cupo/amqp';
import { rpcCommand } from '@cupo/contracts';
import { z } from 'zod';
import { startPrivateRabbitMQ, type PrivateRabbitMQ } from '@cupo/stack';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createRoom,
  day,
  eventually,
  startTestStack,
  token,
  waitForQueries,
  waitForTerminal,
  type TestStack,
} from './support.js';

/**
 * A RabbitMQ resource alarm (memory here; disk behaves alike) blocks every publishing
 * connection: RPC commands, outbox publishes and job moves stop going out and nothing
 * confirms. Callers must answer in time (503/504) and survive it — an RPC deadline that
 * fired while its publish still waited was an unhandled rejection, which ends the process —
 * and everything accepted meanwhile must be done once the alarm clears. The broker is this
 * test's own; the machine's is never alarmed.
 */
let rabbitmq: PrivateRabbitMQ;
let stack: TestStack;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  rabbitmq = await startPrivateRabbitMQ();
  stack = await startTestStack('alarm', {
    servers: { amqpUrl: rabbitmq.url, rabbitmqctl: (args) => rabbitmq.ctl(args) },
    replicas: { inventory: 1, booking: 1, enrollment: 1, worker: 1 },
    env: { RPC_TIMEOUT_MS: '1500', PUBLISH_CIRCUIT_RECOVERY_TIMEOUT: '1', JOB_RETRY_INITIAL_MS: '50', JOB_RETRY_MAX_MS: '500' },
    serviceEnv: {
      booking: { INVENTORY_TIMEOUT_MS: '1000', LOCK_WAIT_MS: '1000', STALE_PENDING_MS: '3000', RECOVERY_INTERVAL_MS: '250' },
      enrollment: { RECOVERY_INTERVAL_MS: '500', STALE_REQUEST_MS: '4000', OUTBOX_POLL_MS: '200' },
      worker: { MAINTENANCE_INTERVAL_MS: '500', STALE_QUERY_MS: '4000', SOURCE_TIMEOUT_MS: '1500' },
    },
  });
  api = apiClient(stack.gatewayUrl);
}, 180_000);

afterAll(async () => {
  await stack?.close().catch((error) => console.error('stack clean-up failed', error));
  await rabbitmq?.stop();
}, 120_000);

const alive = () =>
  stack.processes.filter((p) => !p.name.startsWith('stand-in-')).every((p) => p.child.exitCode === null && p.child.signalCode === null);

describe('a RabbitMQ resource alarm', () => {
  it('is ridden out: callers get timely answers, no process dies, and what was accepted is done afterwards', async () => {
    const room = await createRoom(api, { name: 'Alarm', total_quantity: 50 });
    const admin = await token('admin-1', 'admin');
    await rabbitmq.ctl(['set_vm_memory_high_watermark', '0.0000001']);
    expect(await eventually(async () => (await rabbitmq.ctl(['status'])).includes('memory'), 10_000)).toBe(true);

    // Traffic through the alarm: every request gets an answer within its deadline.
    const started = Date.now();
    const during = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const kind = i % 3;
        if (kind === 0)
          return api('POST', '/api/bookings', {
            token: await token(`alarm-${i}`),
            body: { room_id: room.id, check_in: day(2 + (i % 10)), check_out: day(3 + (i % 10)) },
          });
        if (kind === 1)
          return api('POST', '/api/enrollments', {
            token: await token(`RA00${10 + (i % 40)}`, 'student'),
            body: { term: '1-2025', sections: ['G-HUM110-A'] },
          });
        return api('POST', '/api/queries', {
          token: await token(`alarm-q-${i}`),
          body: { type: 'occupancy_report', params: { from: day(1), to: day(5) } },
        });
      }),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const answer of during) expect([201, 202, 409, 503, 504]).toContain(answer.status);
    // Keep the alarm on a while longer: deadlines, publish timeouts and breakers all fire.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(alive()).toBe(true);

    await rabbitmq.ctl(['set_vm_memory_high_watermark', '0.4']);

    // Everything works again…
    const after = await eventually(
      async () => {
        const booked = await api('POST', '/api/bookings', {
          token: await token('alarm-after'),
          body: { room_id: room.id, check_in: day(20), check_out: day(21) },
        });
        return booked.status === 201;
      },
      30_000,
      500,
    );
    expect(after).toBe(true);
    // …and what was accepted during the alarm reached its end.
    const requests = during.filter((r) => r.status === 202 && r.body.request_id).map((r) => r.body.request_id as string);
    const queries = during.filter((r) => r.status === 202 && r.body.query_id).map((r) => r.body.query_id as string);
    const finished = await waitForTerminal(api, requests, admin, 40_000);
    expect(finished.size).toBe(requests.length);
    const answered = await waitForQueries(api, queries, admin, 40_000);
    expect([...answered.values()].filter((q) => q.status === 'pending')).toEqual([]);
    expect(alive()).toBe(true);
    for (const proc of stack.processes) {
      expect(readFileSync(proc.logFile, 'utf8')).not.toMatch(/unhandledRejection|Unhandled|uncaught/i);
    }
  });

  it('rejects a call whose deadline passes while its publish still waits, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    // Small frames: a big command becomes hundreds of writes, enough to fill the client's own
    // write buffer once the broker stops reading the blocked connection.
    const url = new URL(stack.amqpUrl);
    url.searchParams.set('frameMax', '4096');
    const connection = connectAmqp({ url: url.toString(), name: 'alarm-test', logger: pino({ level: 'silent' }) });
    const rpc = new RpcClient(connection, { defaultTimeoutMs: 300, logger: pino({ level: 'silent' }), registry: new Registry() });
    try {
      await rpc.ready();
      await rabbitmq.ctl(['set_vm_memory_high_watermark', '0.0000001']);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Big commands fill the blocked socket's buffers, so later publishes wait in the client
      // itself — past their deadline.
      const payload = { filler: 'x'.repeat(2_000_000) };
      const BigCommand = rpcCommand('inventory.rooms.list.v1', z.object({ filler: z.string() }), z.unknown());
      const calls = await Promise.race([
        Promise.allSettled(Array.from({ length: 12 }, () => rpc.call(BigCommand, payload, { requestId: 'alarm-test' }))),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000)),
      ]);
      // Each call ends by its deadline (300 ms) or soon after: none waits on its publish.
      expect(calls).not.toBe('hung');
      for (const call of calls as PromiseSettledResult<unknown>[]) expect(call.status).toBe('rejected');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      await rabbitmq.ctl(['set_vm_memory_high_watermark', '0.4']);
      await rpc.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  });
});
