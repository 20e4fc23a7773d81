import { amqpFromEnv, RpcClient } from '@cupo/amqp';
import { postgresFromEnv } from '@cupo/database';
import { redisFromEnv, redisReady } from '@cupo/redis';
import { runService } from '@cupo/service-kit';
import { createBookingService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'booking',
  loadConfig,
  wire: ({ config, logger, registry, instance }) => {
    const uses = {
      postgres: postgresFromEnv(config, 'booking'),
      redis: redisFromEnv(config, logger),
      rabbitmq: amqpFromEnv(config, 'booking', logger),
    };
    const [sql, redis, amqp] = [uses.postgres.client, uses.redis.client, uses.rabbitmq.client];
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.INVENTORY_TIMEOUT_MS, logger, registry });
    const {
      rpc: server,
      broadcasts,
      recovery,
      reconciler,
    } = createBookingService({ sql, redis, rpc, amqp, registry, logger, config, instance });
    return {
      uses,
      start: async () => {
        await Promise.all([redisReady(redis), rpc.ready()]);
        await Promise.all([server.start(), broadcasts.start()]);
        recovery.start();
        reconciler.start();
      },
      // No new commands and no new recovery or reconciler pass, then what is in hand finishes: a
      // command not done within this share stays unacked and is redelivered (confirming is idempotent).
      stop: [
        {
          name: 'stop consuming, recovery and reconciler, drain',
          weight: 6,
          run: async ({ ms }) => void (await Promise.all([server.stop(ms), broadcasts.stop(ms), recovery.stop(), reconciler.stop()])),
        },
      ],
      clients: { rpc },
    };
  },
});
