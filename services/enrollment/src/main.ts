import { amqpFromEnv } from '@cupo/amqp';
import { postgresFromEnv } from '@cupo/database';
import { runService } from '@cupo/service-kit';
import { createEnrollmentService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'enrollment',
  loadConfig,
  wire: ({ config, logger, registry, instance }) => {
    const uses = { postgres: postgresFromEnv(config, 'enrollment'), rabbitmq: amqpFromEnv(config, 'enrollment', logger) };
    const { rpc, consumer, broadcasts, recovery, sagaPurge, relay, publisher } = createEnrollmentService({
      sql: uses.postgres.client,
      amqp: uses.rabbitmq.client,
      registry,
      logger,
      config,
      instance,
    });
    return {
      uses,
      start: async () => {
        await publisher.ready();
        relay.start();
        for (const source of [consumer, broadcasts, rpc]) await source.start();
        recovery.start();
        sagaPurge.start();
      },
      // Every source of work stops at once (each stop() cancels its consumer first), then what is in hand
      // finishes. A saga not done within this share stays unacked and is resumed by another replica from its saved steps.
      stop: [
        {
          name: 'stop commands, requests, recovery and broadcasts; finish in-flight work',
          weight: 6,
          run: async ({ ms }) =>
            void (await Promise.all([rpc.stop(ms), consumer.stop(ms), recovery.stop(), sagaPurge.stop(), broadcasts.stop(ms)])),
        },
        { name: 'flush the outbox', weight: 2, run: () => relay.stop() },
        { name: 'close publisher', run: () => publisher.close() },
      ],
    };
  },
});
