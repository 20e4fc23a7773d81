import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { connectAmqp, RpcClient, rpcHandler, RpcServer, type AmqpConnectionManager } from '@cupo/amqp';
import { DomainError } from '@cupo/errors';
import { amqpUrlFor, createVhost, defaultUrls, deleteVhost } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = pino({ level: 'silent' });

class RefusedOnPurposeError extends DomainError {
  constructor() {
    super('conflict', 'NOPE', 'refused on purpose', { why: 'test' });
  }
}
const { amqpUrl } = defaultUrls();
const vhost = `cupo-it-rpc-${randomUUID()}`;
let connection: AmqpConnectionManager;
let client: RpcClient;
let server: RpcServer;
let calls = 0;

beforeAll(async () => {
  await createVhost(amqpUrl, vhost);
  connection = connectAmqp({ url: amqpUrlFor(amqpUrl, vhost), name: 'rpc-it', logger });
  server = new RpcServer(connection, {
    queue: 'echo.rpc',
    prefetch: 10,
    logger,
    registry: new Registry(),
    handlers: {
      'echo.v1': rpcHandler(z.object({ text: z.string() }), async ({ text }, context) => {
        calls += 1;
        return { text, requestId: context.requestId };
      }),
      'refuse.v1': rpcHandler(z.object({}), async () => {
        throw new RefusedOnPurposeError();
      }),
      'crash.v1': rpcHandler(z.object({}), async () => {
        throw new Error('secret internals');
      }),
      'slow.v1': rpcHandler(z.object({}), async () => new Promise((resolve) => setTimeout(() => resolve('late'), 500))),
    },
  });
  await server.start();
  client = new RpcClient(connection, { defaultTimeoutMs: 2_000, logger, registry: new Registry() });
  await client.ready();
});

afterAll(async () => {
  await server?.stop();
  await client?.close();
  await connection?.close();
  await deleteVhost(amqpUrl, vhost);
});

describe('RPC over RabbitMQ', () => {
  it('answers with the result and carries the request id', async () => {
    await expect(client.call('echo.v1', { text: 'hi' }, { requestId: 'req-1' })).resolves.toEqual({
      text: 'hi',
      requestId: 'req-1',
    });
  });

  it('matches many concurrent replies to their callers', async () => {
    const texts = Array.from({ length: 200 }, (_, i) => `m${i}`);
    const replies = await Promise.all(texts.map((text) => client.call<{ text: string }>('echo.v1', { text }, { requestId: text })));
    expect(replies.map((r) => r.text)).toEqual(texts);
  });

  it('brings domain errors back as domain errors, with their code and details', async () => {
    await expect(client.call('refuse.v1', {}, { requestId: 'r' })).rejects.toMatchObject({
      kind: 'conflict',
      code: 'NOPE',
      details: { why: 'test' },
    });
  });

  it('turns an unexpected failure into INTERNAL_ERROR without leaking its message', async () => {
    const error = await client.call('crash.v1', {}, { requestId: 'r' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'internal', code: 'INTERNAL_ERROR' });
    expect(String((error as Error).message)).not.toContain('secret');
  });

  it('refuses an invalid payload before the handler runs', async () => {
    const before = calls;
    await expect(client.call('echo.v1', { text: 42 }, { requestId: 'r' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(calls).toBe(before);
  });

  it('times out with UPSTREAM_TIMEOUT at the deadline', async () => {
    await expect(client.call('slow.v1', {}, { requestId: 'r', timeoutMs: 100 })).rejects.toMatchObject({
      kind: 'timeout',
      code: 'UPSTREAM_TIMEOUT',
    });
  });

  it('fails at once with SERVICE_UNAVAILABLE when nobody serves the command', async () => {
    const started = Date.now();
    await expect(client.call('nobody.v1', {}, { requestId: 'r', timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
