import { amqpFromEnv } from '@cupo/amqp';
import { postgresFromEnv } from '@cupo/database';
import { runService } from '@cupo/service-kit';
import { createInventoryService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'inventory',
  loadConfig,
  wire: ({ config, logger, registry, instance }) => {
    const uses = { postgres: postgresFromEnv(config, 'inventory'), rabbitmq: amqpFromEnv(config, 'inventory', logger) };
    const { rpc, broadcasts } = createInventoryService({
      sql: uses.postgres.client,
      amqp: uses.rabbitmq.client,
      registry,
      logger,
      config,
      instance,
    });
    return {
      uses,
      // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
      start: async () => void (await Promise.all([rpc.start(), broadcasts.start()])),
      // Commands not finished within this share stay unacked and go back to the queue when the channel closes.
      stop: [
        {
          name: 'stop consuming and drain',
          weight: 6,
          run: async ({ ms }) => void (await Promise.all([rpc.stop(ms), broadcasts.stop(ms)])),
        },
      ],
    };
  },
});
