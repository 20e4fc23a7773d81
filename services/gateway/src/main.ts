import { hostname } from 'node:os';
import { CircuitBreakers, failureOf } from '@cupo/circuit-breakers';
import { amqpReadiness, connectAmqp, QueueInspector, RpcClient } from '@cupo/amqp';
import { connectRedis } from '@cupo/redis';
import {
  closeHttpServer,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  weightFor,
  exitOnSignals,
  listen,
  startOpsServer,
} from '@cupo/service-kit';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { RateLimits } from './http/rate-limit.js';
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

  const rateLimits = new RateLimits(redis, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    guard: (call) => breakers.run('redis', call),
    logger,
    registry,
    budgets: {
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
      clientReads: config.RATE_LIMIT_CLIENT_READS,
      clientWrites: config.RATE_LIMIT_CLIENT_WRITES,
      userReads: config.RATE_LIMIT_USER_READS,
      userWrites: config.RATE_LIMIT_USER_WRITES,
    },
  });

  // Not ready until the RPC reply consumer is attached: a replica that answers /readyz must be
  // able to serve. Redis is not a readiness check: only keyed bookings need it, and those go
  // through the `redis` breaker (503 while it is away); everything else keeps being served.
  let accepting = false;
  let draining = false;
  const app = createApp({
    rpc,
    queues: new QueueInspector(amqp),
    idempotency,
    breakers,
    instance: `gateway@${hostname()}:${process.pid}`,
    gatherWindowMs: config.OPS_GATHER_WINDOW_MS,
    tokens: {
      secret: config.JWT_SECRET,
      maxLifetimeSeconds: config.JWT_MAX_LIFETIME_SECONDS,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    },
    devLogin: config.DEV_LOGIN_ENABLED,
    logger,
    registry,
    isDraining: () => draining,
    rateLimits,
    trustProxy: config.TRUST_PROXY,
    bodyLimits: { jsonBytes: config.BODY_LIMIT_BYTES, ingestBytes: config.INGEST_BODY_LIMIT_BYTES },
  });
  const ops = await startOpsServer({
    port: config.OPS_PORT,
    registry,
    checks: { rabbitmq: amqpReadiness(amqp) },
    isAccepting: () => accepting,
    logger,
  });
  const { server, port } = await listen(app, config.PORT, '0.0.0.0', logger);

  // A rolling update must not drop a request. /readyz turns 503 at once, but endpoints and
  // load balancers take a moment to stop sending this replica connections: it keeps serving
  // for SHUTDOWN_DRAIN_DELAY_MS (answers now close their keep-alive connections), then stops
  // accepting, lets the requests in flight finish and closes the idle connections, and only
  // then closes its clients. The ops port stays up to the end, so probes see "draining".
  const shutdown = createShutdown(
    logger,
    [
      {
        name: 'mark not ready',
        run: async () => {
          accepting = false;
          draining = true;
        },
      },
      // Its share of the deadline is the whole drain delay.
      {
        name: 'let endpoints propagate',
        weight: weightFor(config.SHUTDOWN_DRAIN_DELAY_MS, config.SHUTDOWN_TIMEOUT_MS, AFTER_DRAIN_WEIGHT),
        run: () => new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_DELAY_MS)),
      },
      // Requests still waiting after this share are answered 503 when the RPC client closes next.
      { name: 'finish requests', weight: 6, run: () => closeHttpServer(server) },
      { name: 'close ops server', run: () => closeHttpServer(ops.server) },
      { name: 'close rpc client', run: () => rpc.close() },
      { name: 'close amqp', run: () => amqp.close() },
      { name: 'close redis', run: async () => void (await redis.quit()) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await rpc.ready();
  accepting = true;
  logger.info({ port, opsPort: ops.port }, 'gateway ready');
}

/** The weights of the shutdown steps after the drain delay (finish 6, ops, rpc, amqp, redis 1 each). */
const AFTER_DRAIN_WEIGHT = 10;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
