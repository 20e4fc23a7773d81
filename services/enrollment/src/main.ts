import { hostname } from 'node:os';
import { amqpReadiness, connectAmqp } from '@cupo/amqp';
import { createPool, databaseReadiness } from '@cupo/database';
import {
  closeHttpServer,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  exitOnSignals,
  startOpsServer,
} from '@cupo/service-kit';
import { createEnrollmentService } from './app.js';
import { loadConfig } from './config.js';

/** The composition root: the only place that reads config and wires adapters together. */
async function main(): Promise<void> {
  const config = loadConfig();
  const instance = `enrollment@${hostname()}:${process.pid}`;
  const logger = createLogger({ service: 'enrollment', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('enrollment');

  const sql = createPool({ url: config.DATABASE_URL, max: config.PG_POOL_MAX, applicationName: 'cupo-enrollment' });
  const amqp = connectAmqp({ url: config.AMQP_URL, name: 'enrollment', logger });
  const service = createEnrollmentService({ sql, amqp, registry, logger, config, instance });

  // Not ready until every consumer is attached: a replica that answers /readyz must be able to serve.
  let accepting = false;
  const ops = await startOpsServer({
    port: config.HTTP_PORT,
    logger,
    registry,
    isAccepting: () => accepting,
    checks: { postgres: databaseReadiness(sql), rabbitmq: amqpReadiness(amqp) },
  });

  const shutdown = createShutdown(
    logger,
    [
      { name: 'mark not ready', run: async () => void (accepting = false) },
      // Every source of work stops at once (each stop() cancels its consumer first), then what is
      // in hand finishes. A saga not done within this share stays unacked and is resumed by
      // another replica from its saved steps.
      {
        name: 'stop commands, requests, recovery and broadcasts; finish in-flight work',
        weight: 6,
        run: async ({ ms }) =>
          void (await Promise.all([service.rpc.stop(ms), service.consumer.stop(ms), service.recovery.stop(), service.broadcasts.stop(ms)])),
      },
      { name: 'flush the outbox', weight: 2, run: () => service.relay.stop() },
      { name: 'close publisher', run: () => service.publisher.close() },
      { name: 'close amqp', run: () => amqp.close() },
      { name: 'close postgres', run: ({ ms }) => sql.end({ timeout: ms / 1000 }) },
      { name: 'close http', run: () => closeHttpServer(ops.server) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
  exitOnSignals(shutdown);

  await service.publisher.ready();
  service.relay.start();
  await service.consumer.start();
  await service.broadcasts.start();
  await service.rpc.start();
  service.recovery.start();
  accepting = true;
  logger.info({ httpPort: ops.port, instance }, 'enrollment ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
