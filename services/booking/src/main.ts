import { amqpReadiness, connectAmqp, RpcClient, RpcServer } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import { connectRedis, redisReadiness, redisReady } from '@cupo/redis';
import {
  closeHttpServer,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  exitOnSignals,
  startOpsServer,
} from '@cupo/service-kit';
import { createBookingService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that reads config and wires adapters together. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'booking', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('booking');

  const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-booking' });
  const redis = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
  const amqp = connectAmqp({ url: config.AMQP_URL, name: 'booking', logger });
  const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.INVENTORY_TIMEOUT_MS, logger, registry });

  const service = createBookingService({ sql, redis, rpc, registry, logger, config });
  const server = new RpcServer(amqp, {
    queue: 'booking.rpc',
    handlers: service.handlers,
    prefetch: config.RPC_PREFETCH,
    logger,
    registry,
  });

  // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
  let accepting = false;
  const ops = await startOpsServer({
    port: config.HTTP_PORT,
    logger,
    registry,
    isAccepting: () => accepting,
    checks: {
      postgres: databaseReadiness(sql),
      redis: redisReadiness(redis),
      rabbitmq: amqpReadiness(amqp),
    },
  });

  const shutdown = createShutdown(
    logger,
    [
      { name: 'mark not ready', run: async () => void (accepting = false) },
      // No new commands and no new recovery or reconciler pass, then what is in hand finishes: a
      // command not done within this share stays unacked and is redelivered (confirming is idempotent).
      {
        name: 'stop consuming, recovery and reconciler, drain',
        weight: 6,
        run: async ({ ms }) => void (await Promise.all([server.stop(ms), service.recovery.stop(), service.reconciler.stop()])),
      },
      { name: 'close rpc client', run: () => rpc.close() },
      { name: 'close amqp', run: () => amqp.close() },
      { name: 'close redis', run: async () => void (await redis.quit()) },
      { name: 'close postgres', run: ({ ms }) => sql.end({ timeout: ms / 1000 }) },
      { name: 'close http', run: () => closeHttpServer(ops.server) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await redisReady(redis);
  await rpc.ready();
  await server.start();
  service.recovery.start();
  service.reconciler.start();
  accepting = true;
  logger.info({ httpPort: ops.port }, 'booking ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
