import { connectAmqp, rpcHandler, RpcServer, type AmqpConnectionManager } from '@cupo/amqp';
import { PurgeSagas } from '@cupo/contracts';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startTestStack, token, type TestStack } from './support.js';

/**
 * A rolling upgrade puts the new gateway in front of the previous enrollment release for a
 * while. That release answers `enrollment.ops.purge-sagas.v1` with `{purged}` only: it deleted
 * every matching saga in one statement, and `complete` did not exist. Replies are not parsed on
 * the way back (so no schema default applies): the gateway itself must answer `complete: true`
 * for it, or a client looping until complete would never stop. The previous release is played
 * by a real RPC server on the stack's own vhost, answering as it did.
 */
let stack: TestStack;
let connection: AmqpConnectionManager;
let previousRelease: RpcServer;
const deadlines: number[] = [];

beforeAll(async () => {
  stack = await startTestStack('purgecompat', { replicas: { inventory: 0, booking: 0, enrollment: 0 } });
  connection = connectAmqp({ url: stack.amqpUrl, name: 'previous-enrollment', logger: pino({ level: 'silent' }) });
  previousRelease = new RpcServer(connection, {
    queue: 'enrollment.rpc',
    prefetch: 1,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    handlers: [
      rpcHandler(PurgeSagas, async (_command, context) => {
        deadlines.push(context.deadline);
        return { purged: 3 };
      }),
    ],
  });
  await previousRelease.start();
});

afterAll(async () => {
  await previousRelease?.stop();
  await connection?.close();
  await stack?.close();
});

describe('the saga purge across a rolling upgrade', () => {
  it('answers complete: true for a previous enrollment release’s reply, which has no `complete`', async () => {
    const api = apiClient(stack.gatewayUrl);
    const sent = Date.now();
    const purged = await api('DELETE', '/api/ops/sagas?status=completed&older_than_seconds=0', {
      token: await token('compat-admin', 'admin'),
    });
    expect(purged.status).toBe(200);
    expect(purged.body).toEqual({ purged: 3, complete: true });
    // The gateway sends its deadline, which the new enrollment's purge stops a second before.
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]).toBeGreaterThan(sent);
    expect(deadlines[0]).toBeLessThan(sent + 120_000);
  });
});
