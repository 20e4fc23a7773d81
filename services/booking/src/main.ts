import { amqpReadiness, connectAmqp, RpcClient, RpcServer } from '@cupo/amqp';
import { breakerBroadcastServer } from '@cupo/circuit-breakers';
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
    const service = createBookingService({ sql, redis, rpc, registry, logger, config });
    const server = new RpcServer(amqp, { queue: 'booking.rpc', handlers: service.handlers, prefetch: config.RPC_PREFETCH, logger, registry });
    const broadcasts = breakerBroadcastServer(amqp, { service: 'booking', instance, breakers: service.breakers, logger, registry });
    return {
      checks: { postgres: databaseReadiness(sql), redis: redisReadiness(redis), rabbitmq: amqpReadiness(amqp) },
      start: async () => {
        await redisReady(redis);
        await rpc.ready();
        await server.start();
        await broadcasts.start();
        service.recovery.start();
        service.reconciler.start();
      },
      // No new commands and no new recovery or reconciler pass, then what is in hand finishes: a
      // command not done within this share stays unacked and is redelivered (confirming is idempotent).
      stop: [
        {
          name: 'stop consuming, recovery and reconciler, drain',
          weight: 6,
          run: async ({ ms }) => void (await Promise.all([server.stop(ms), broadcasts.stop(ms), service.recovery.stop(), service.reconciler.stop()])),
        },
      ],
      clients: { rpc, amqp, redis, sql },
    };
  },
});
