import { amqpReadiness, connectAmqp } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import { runService } from '@cupo/service-kit';
import { createEnrollmentService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that wires adapters together. */
runService({
  name: 'enrollment',
  loadConfig,
  opsPort: (config) => config.HTTP_PORT,
  wire: ({ config, logger, registry, instance }) => {
    const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-enrollment' });
    const amqp = connectAmqp({ url: config.AMQP_URL, name: 'enrollment', logger });
    const service = createEnrollmentService({ sql, amqp, registry, logger, config, instance });
    return {
      checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp) },
      start: async () => {
        await service.publisher.ready();
        service.relay.start();
        await service.consumer.start();
        await service.broadcasts.start();
        await service.rpc.start();
        service.recovery.start();
        service.sagaPurge.start();
      },
      stop: [
        // Every source of work stops at once (each stop() cancels its consumer first), then what is
        // in hand finishes. A saga not done within this share stays unacked and is resumed by
        // another replica from its saved steps.
        {
          name: 'stop commands, requests, recovery and broadcasts; finish in-flight work',
          weight: 6,
          run: async ({ ms }) =>
            void (await Promise.all([service.rpc.stop(ms), service.consumer.stop(ms), service.recovery.stop(), service.sagaPurge.stop(), service.broadcasts.stop(ms)])),
        },
        { name: 'flush the outbox', weight: 2, run: () => service.relay.stop() },
        { name: 'close publisher', run: () => service.publisher.close() },
      ],
      clients: { amqp, sql },
    };
  },
});
