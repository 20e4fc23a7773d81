import { amqpReadiness, connectAmqp, RpcClient } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import { connectRedis, redisReadiness, redisReady } from '@cupo/redis';
import { runService } from '@cupo/service-kit';
import { createBookingService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'booking',
  loadConfig,
  opsPort: (config) => config.HTTP_PORT,
  wire: ({ config, logger, registry, instance }) => {
    const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-booking' });
    const redis = connectRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
    const amqp = connectAmqp({ url: config.AMQP_URL, name: 'booking', logger });
    const rpc = new RpcClient(amqp, { defaultTimeoutMs: config.INVENTORY_TIMEOUT_MS, logger, registry });
    const { rpc: server, broadcasts, recovery, reconciler } = createBookingService({ sql, redis, rpc, amqp, registry, logger, config, instance });
    return {
      checks: { postgres: databaseReadiness(sql), redis: redisReadiness(redis), rabbitmq: amqpReadiness(amqp) },
      start: async () => {
        await Promise.all([redisReady(redis), rpc.ready()]);
        await Promise.all([server.start(), broadcasts.start()]);
        recovery.start();
        reconciler.start();
      },
      // No new commands and no new recovery or reconciler pass, then what is in hand finishes: a
      // command not done within this share stays unacked and is redelivered (confirming is idempotent).
      stop: [{ name: 'stop consuming, recovery and reconciler, drain', weight: 6, run: async ({ ms }) => void (await Promise.all([server.stop(ms), broadcasts.stop(ms), recovery.stop(), reconciler.stop()])) }],
      clients: { rpc, amqp, redis, sql },
    };
  },
});
