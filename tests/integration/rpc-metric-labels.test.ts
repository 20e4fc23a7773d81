import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectAmqp, rpcHandler, RpcServer, type AmqpConnectionManager } from '@cupo/amqp';
import { NoParameters, rpcCommand } from '@cupo/contracts';
import { amqpUrlFor, createVhost, defaultUrls, deleteVhost } from '@cupo/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Metrics label sets stay bounded (issue 16.4): a broadcast exchange delivers any routing key
 * to every replica's server, so command names from the wire must not become label values one by
 * one — each would be a new series kept in memory for the life of the process.
 */
const logger = pino({ level: 'silent' });
const Ping = rpcCommand('ping.v1', NoParameters, NoParameters);
const { amqpUrl } = defaultUrls();
const vhost = `cupo-it-rpc-labels-${randomUUID()}`;
const exchange = 'labels.broadcast';
let connection: AmqpConnectionManager;
let server: RpcServer;
const registry = new Registry();
let handled = 0;

beforeAll(async () => {
  await createVhost(amqpUrl, vhost);
  connection = connectAmqp({ url: amqpUrlFor(amqpUrl, vhost), name: 'rpc-labels-it', logger });
  server = new RpcServer(connection, {
    queue: 'labels.ops',
    broadcastExchange: exchange,
    prefetch: 10,
    logger,
    registry,
    handlers: [rpcHandler(Ping, async () => void (handled += 1))],
  });
  await server.start();
});

afterAll(async () => {
  await server?.stop();
  await connection?.close();
  await deleteVhost(amqpUrl, vhost);
});

describe('rpc_server_duration_seconds', () => {
  it('keeps one `unknown` series for every command name no handler serves', async () => {
    const publisher = connection.createChannel({
      confirm: true,
      setup: (channel: { assertExchange: (e: string, t: string, o: object) => Promise<unknown> }) =>
        channel.assertExchange(exchange, 'fanout', { durable: true }),
    });
    try {
      await publisher.waitForConnect();
      for (let i = 0; i < 50; i++) await publisher.publish(exchange, `made-up-${randomUUID()}`, Buffer.from('{}'));
      await publisher.publish(exchange, Ping.name, Buffer.from('{}'));
    } finally {
      await publisher.close();
    }
    const deadline = Date.now() + 10_000;
    let commands = new Set<string>();
    let count = 0;
    while (Date.now() < deadline) {
      const metric = await registry.getSingleMetric('rpc_server_duration_seconds')!.get();
      const counts = metric.values.filter((v) => (v as { metricName?: string }).metricName === 'rpc_server_duration_seconds_count');
      commands = new Set(counts.map((v) => String(v.labels.command)));
      count = counts.reduce((sum, v) => sum + v.value, 0);
      if (count >= 51) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(count).toBe(51);
    expect(handled).toBe(1);
    expect([...commands].sort()).toEqual(['ping.v1', 'unknown']);
  });
});
