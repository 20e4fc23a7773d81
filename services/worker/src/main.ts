import { amqpReadiness, connectAmqp, RpcClient } from '@cupo/amqp';
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
import { hostname } from 'node:os';
import { createWorker } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that reads config and wires adapters together. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'worker', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('worker');
  const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-worker' });
  const amqp = connectAmqp({ url: config.AMQP_URL, name: 'worker', logger });
  const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.SOURCE_TIMEOUT_MS, logger, registry });
  const redis = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
  const worker = createWorker({ replicaId: `${hostname()}:${process.pid}`, sql, amqp, rpc, redis, registry, logger, config });

  // Not ready until every consumer is attached.
  let accepting = false;
  const ops = await startOpsServer({
    port: config.HTTP_PORT,
    logger,
    registry,
    isAccepting: () => accepting,
    checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp), redis: redisReadiness(redis) },
  });

  const shutdown = createShutdown(
    logger,
    [
      { name: 'mark not ready', run: async () => void (accepting = false) },
      // Every source of work stops at once (each stop() first cancels its consumer); then
      // queries in hand finish and onboarding runs finish the provider request in flight and
      // hand the rest back (claims released, message re-queued for another replica). Whatever
      // is still unacked when this share ends goes back to the queue as the channels close.
      {
        name: 'stop taking work; finish queries, hand back onboarding',
        weight: 12,
        run: async ({ ms }) => {
          const stopped = Promise.all([
            worker.rpcServer.stop(ms),
            worker.queries.stop(ms),
            worker.onboardingJobs.stop(ms),
            worker.maintenance.stop(),
            worker.reaper.stop(),
          ]);
          worker.handBackOnboarding();
          await stopped;
        },
      },
      { name: 'close mailer', run: async () => worker.mailer.close() },
      { name: 'flush the outbox', weight: 2, run: () => worker.relay.stop() },
      { name: 'close publisher', run: () => worker.publisher.close() },
      { name: 'close rpc client', run: () => rpc.close() },
      { name: 'close amqp', run: () => amqp.close() },
      { name: 'close redis', run: async () => void (await redis.quit()) },
      { name: 'close postgres', run: ({ ms }) => sql.end({ timeout: ms / 1000 }) },
      { name: 'close http', run: () => closeHttpServer(ops.server) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await worker.publisher.ready();
  worker.relay.start();
  await rpc.ready();
  await redisReady(redis);
  await worker.queries.start();
  await worker.onboardingJobs.start();
  await worker.rpcServer.start();
  worker.maintenance.start();
  worker.reaper.start();
  accepting = true;
  logger.info({ httpPort: ops.port }, 'worker ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
