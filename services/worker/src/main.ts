import { hostname } from 'node:os';
import { amqpFromEnv, RpcClient } from '@cupo/amqp';
import { postgresFromEnv } from '@cupo/database';
import { redisFromEnv } from '@cupo/redis';
import { runService } from '@cupo/service-kit';
import { createWorker } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'worker',
  loadConfig,
  wire: ({ config, logger, registry, instance }) => {
    const uses = {
      postgres: postgresFromEnv(config, 'worker'),
      rabbitmq: amqpFromEnv(config, 'worker', logger),
      redis: redisFromEnv(config, logger),
    };
    const amqp = uses.rabbitmq.client;
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.SOURCE_TIMEOUT_MS, logger, registry });
    const worker = createWorker({
      replicaId: `${hostname()}:${process.pid}`,
      instance,
      sql: uses.postgres.client,
      amqp,
      rpc,
      redis: uses.redis.client,
      registry,
      logger,
      config,
    });
    return {
      uses,
      start: () => worker.start(),
      stop: [
        // Queries in hand finish, onboarding runs hand back what they have not finished (app.ts).
        { name: 'stop taking work; finish queries, hand back onboarding', weight: 12, run: ({ ms }) => worker.stopTakingWork(ms) },
        { name: 'close mailer', run: async () => worker.mailer.close() },
        { name: 'flush the outbox', weight: 2, run: () => worker.relay.stop() },
        { name: 'close publisher', run: () => worker.publisher.close() },
      ],
      clients: { rpc },
    };
  },
});
