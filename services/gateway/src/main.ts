import { hostname } from 'node:os';
import { CircuitBreakers, failureOf } from '@cupo/circuit-breakers';
import { amqpReadiness, connectAmqp, QueueInspector, RpcClient } from '@cupo/amqp';
import { connectRedis, redisReadiness, redisReady } from '@cupo/redis';
import {
  closeHttpServer,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  exitOnSignals,
  listen,
} from '@cupo/service-kit';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { IdempotencyStore } from './idempotency/idempotency-store.js';

/** The composition root: the only place that reads config and wires adapters together. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('gateway');

  const redis = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
  const amqp = connectAmqp({ url: config.AMQP_URL, name: 'gateway', logger });
  const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.RPC_TIMEOUT_MS, logger, registry });
  const breakers = new CircuitBreakers(registry);
  breakers.add('redis', {
    dependency: 'Redis',
    failureThreshold: config.REDIS_CIRCUIT_FAILURE_THRESHOLD,
    openMs: config.REDIS_CIRCUIT_RECOVERY_TIMEOUT * 1000,
    successThreshold: config.REDIS_CIRCUIT_SUCCESS_THRESHOLD,
    isFailure: failureOf('Redis'),
  });
  const idempotency = new IdempotencyStore(redis, {
    guard: (call) => breakers.run('redis', call),
    keyPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    leaseMs: config.RPC_TIMEOUT_MS + 2_000,
    waitMs: config.RPC_TIMEOUT_MS + 1_000,
  });

  // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
  let accepting = false;
  const app = createApp({
    rpc,
    queues: new QueueInspector(amqp),
    idempotency,
    breakers,
    instance: `gateway@${hostname()}:${process.pid}`,
    gatherWindowMs: config.OPS_GATHER_WINDOW_MS,
    jwtSecret: config.JWT_SECRET,
    devLogin: config.DEV_LOGIN_ENABLED,
    logger,
    registry,
    isAccepting: () => accepting,
    readiness: { redis: redisReadiness(redis), rabbitmq: amqpReadiness(amqp) },
  });
  const { server, port } = await listen(app, config.PORT, '0.0.0.0', logger);

  const shutdown = createShutdown(
    logger,
    [
      { name: 'mark not ready', run: async () => void (accepting = false) },
      // Requests still waiting after this share are answered 503 when the RPC client closes next.
      { name: 'finish requests', weight: 6, run: () => closeHttpServer(server) },
      { name: 'close rpc client', run: () => rpc.close() },
      { name: 'close amqp', run: () => amqp.close() },
      { name: 'close redis', run: async () => void (await redis.quit()) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await redisReady(redis);
  await rpc.ready();
  accepting = true;
  logger.info({ port }, 'gateway ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
