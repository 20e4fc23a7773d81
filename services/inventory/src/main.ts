import { amqpReadiness, connectAmqp } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import { runService } from '@cupo/service-kit';
import { createInventoryService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'inventory',
  loadConfig,
  opsPort: (config) => config.HTTP_PORT,
  wire: ({ config, logger, registry, instance }) => {
    const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-inventory' });
    const amqp = connectAmqp({ url: config.AMQP_URL, name: 'inventory', logger });
    const { rpc, broadcasts } = createInventoryService({ sql, amqp, registry, logger, config, instance });
    return {
      checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp) },
      // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
      start: async () => void (await Promise.all([rpc.start(), broadcasts.start()])),
      // Commands not finished within this share stay unacked and go back to the queue when the channel closes.
      stop: [{ name: 'stop consuming and drain', weight: 6, run: async ({ ms }) => void (await Promise.all([rpc.stop(ms), broadcasts.stop(ms)])) }],
      clients: { amqp, sql },
    };
  },
});
