import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { connectAmqp, RpcClient, rpcHandler, RpcServer, type AmqpConnectionManager } from '@cupo/amqp';
import { NoParameters, rpcCommand } from '@cupo/contracts';
import { DomainError } from '@cupo/errors';
import { amqpUrlFor, createVhost, defaultUrls, deleteVhost } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = pino({ level: 'silent' });

class RefusedOnPurposeError extends DomainError {
  constructor() {
    super('conflict', 'NOPE', 'refused on purpose', { why: 'test' });
  }
}

const Echo = rpcCommand('echo.v1', z.object({ text: z.string() }), z.object({ text: z.string(), requestId: z.string() }));
const Refuse = rpcCommand('refuse.v1', NoParameters, NoParameters);
const Crash = rpcCommand('crash.v1', NoParameters, NoParameters);
const Slow = rpcCommand('slow.v1', NoParameters, z.string());
const Nobody = rpcCommand('nobody.v1', NoParameters, NoParameters);
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
    handlers: [
      rpcHandler(Echo, async ({ text }, context) => {
        calls += 1;
        return { text, requestId: context.requestId };
      }),
      rpcHandler(Refuse, async () => {
        throw new RefusedOnPurposeError();
      }),
      rpcHandler(Crash, async () => {
        throw new Error('secret internals');
      }),
      rpcHandler(Slow, async () => new Promise((resolve) => setTimeout(() => resolve('late'), 500))),
    ],
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
    await expect(client.call(Echo, { text: 'hi' }, { requestId: 'req-1' })).resolves.toEqual({
      text: 'hi',
      requestId: 'req-1',
    });
  });

  it('matches many concurrent replies to their callers', async () => {
    const texts = Array.from({ length: 200 }, (_, i) => `m${i}`);
    const replies = await Promise.all(texts.map((text) => client.call(Echo, { text }, { requestId: text })));
    expect(replies.map((r) => r.text)).toEqual(texts);
  });

  it('brings domain errors back as domain errors, with their code and details', async () => {
    await expect(client.call(Refuse, {}, { requestId: 'r' })).rejects.toMatchObject({
      kind: 'conflict',
      code: 'NOPE',
      details: { why: 'test' },
    });
  });

  it('turns an unexpected failure into INTERNAL_ERROR without leaking its message', async () => {
    const error = await client.call(Crash, {}, { requestId: 'r' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'internal', code: 'INTERNAL_ERROR' });
    expect(String((error as Error).message)).not.toContain('secret');
  });

  it('refuses an invalid payload before the handler runs', async () => {
    const before = calls;
    // A caller whose contract says otherwise (an older or newer version of the command).
    const Mismatched = rpcCommand('echo.v1', z.object({ text: z.number() }), Echo.reply);
    await expect(client.call(Mismatched, { text: 42 }, { requestId: 'r' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(calls).toBe(before);
  });

  it('times out with UPSTREAM_TIMEOUT at the deadline', async () => {
    await expect(client.call(Slow, {}, { requestId: 'r', timeoutMs: 100 })).rejects.toMatchObject({
      kind: 'timeout',
      code: 'UPSTREAM_TIMEOUT',
    });
  });

  it('fails at once with SERVICE_UNAVAILABLE when nobody serves the command', async () => {
    const started = Date.now();
    await expect(client.call(Nobody, {}, { requestId: 'r', timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('checks each reply against its command: one that breaks the contract is an error, not a wrong value', async () => {
    const ExpectsANumber = rpcCommand('echo.v1', Echo.request, z.object({ text: z.number() }));
    await expect(client.call(ExpectsANumber, { text: 'hi' }, { requestId: 'r' })).rejects.toMatchObject({
      kind: 'internal',
      code: 'INVALID_REPLY',
    });
  });

  it('hands a valid reply on whole: a field the caller’s contract does not know yet passes through', async () => {
    const KnowsOnlyText = rpcCommand('echo.v1', Echo.request, z.object({ text: z.string() }));
    await expect(client.call(KnowsOnlyText, { text: 'hi' }, { requestId: 'req-2' })).resolves.toEqual({ text: 'hi', requestId: 'req-2' });
  });

  it('answers a command by its handler in a list, and refuses two handlers for one command', () => {
    expect(
      () =>
        new RpcServer(connection, {
          queue: 'twice.rpc',
          prefetch: 1,
          logger,
          registry: new Registry(),
          handlers: [rpcHandler(Refuse, async () => ({})), rpcHandler(Refuse, async () => ({}))],
        }),
    ).toThrow(/two handlers for refuse.v1/);
  });
});
