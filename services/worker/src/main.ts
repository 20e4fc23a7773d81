import { hostname } from 'node:os';
import { amqpReadiness, connectAmqp, RpcClient } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import { connectRedis, redisReadiness } from '@cupo/redis';
import { runService } from '@cupo/service-kit';
import { createWorker } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'worker',
  loadConfig,
  opsPort: (config) => config.HTTP_PORT,
  wire: ({ config, logger, registry, instance }) => {
    const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-worker' });
    const amqp = connectAmqp({ url: config.AMQP_URL, name: 'worker', logger });
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.SOURCE_TIMEOUT_MS, logger, registry });
    const redis = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
    const worker = createWorker({ replicaId: `${hostname()}:${process.pid}`, instance, sql, amqp, rpc, redis, registry, logger, config });
    return {
      checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp), redis: redisReadiness(redis) },
      start: () => worker.start(),
      stop: [
        // Queries in hand finish, onboarding runs hand back what they have not finished (app.ts).
        { name: 'stop taking work; finish queries, hand back onboarding', weight: 12, run: ({ ms }) => worker.stopTakingWork(ms) },
        { name: 'close mailer', run: async () => worker.mailer.close() },
        { name: 'flush the outbox', weight: 2, run: () => worker.relay.stop() },
        { name: 'close publisher', run: () => worker.publisher.close() },
      ],
      clients: { rpc, amqp, redis, sql },
    };
  },
});
